using System.Buffers;
using System.Buffers.Binary;
using Nerdbox.Http2.Frames;
using Nerdbox.Http2.Hpack;

namespace Nerdbox.Http2;

/// <summary>
/// The server side of one HTTP/2 connection over any byte stream (RFC 9113, without TLS, push or priorities): the
/// preface and settings, each request stream handed to the handler once its headers are in, flow control both ways,
/// and the peer's faults answered as the protocol says (a stream reset, or GOAWAY with the reason and the end of the
/// connection). Every frame is bounded before it is read.
/// </summary>
public sealed class Http2Connection
{
    private readonly Stream _transport;
    private readonly Func<Http2Stream, Task> _handler;
    private readonly Http2ServerOptions _options;
    private readonly Action<string>? _log;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly HpackDecoder _decoder;
    private readonly Dictionary<int, Http2Stream> _streams = [];
    private readonly ArrayBufferWriter<byte> _headerBlock = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly HashSet<int> _recentlyReset = [];
    private readonly Queue<int> _resetOrder = new();
    private long _peerInitialWindow = Http2Constants.DefaultWindow;
    private long _receiveWindow;
    private long _receivedSinceUpdate;
    private int _lastStreamId;
    private bool _goingAway;
    private TaskCompletionSource? _drained;

    // The header block being gathered from HEADERS and CONTINUATION frames.
    private int _blockStreamId;
    private bool _blockEndsStream;

    // Streams reset here whose late frames are still let off; older ones count as plainly closed.
    private const int RememberedResets = 64;

    /// <summary>The connection's receive window: the options' when wider than the 64 KiB every connection starts with.</summary>
    private int ConnectionWindow => Math.Max(_options.ReceiveWindow, Http2Constants.DefaultWindow);

    private Http2Connection(Stream transport, Func<Http2Stream, Task> handler, Http2ServerOptions options, Action<string>? log)
    {
        _transport = transport;
        _handler = handler;
        _options = options;
        _log = log;
        _reader = new FrameReader(transport);
        _writer = new FrameWriter(transport);
        _decoder = new HpackDecoder(options.HeaderTableSize, options.MaxHeaderListBytes);
        // The connection's window starts at 64 KiB whatever the settings say; a WINDOW_UPDATE may only widen it.
        _receiveWindow = ConnectionWindow;
    }

    /// <summary>
    /// Serves the connection until the peer ends it, breaks the protocol, or <paramref name="stopping"/> fires and the
    /// streams in flight have finished (a GOAWAY tells the peer to open no more). The transport is disposed at the end.
    /// </summary>
    public static Task ServeAsync(Stream transport, Func<Http2Stream, Task> handler, Http2ServerOptions options, Action<string>? log,
        CancellationToken stopping) =>
        new Http2Connection(transport, handler, options, log).RunAsync(stopping);

    private async Task RunAsync(CancellationToken stopping)
    {
        using var stop = stopping.Register(() => _ = GoAwayAsync());
        try
        {
            await SendSettingsAsync();
            await ReadPrefaceAsync();
            await ReadFramesAsync();
        }
        catch (Http2ProtocolException e)
        {
            _log?.Invoke($"HTTP/2 connection ended: {e.Message}");
            try
            {
                await _writer.WriteGoAwayAsync(_lastStreamId, e.Code, e.Message, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(1));
            }
            catch (Exception) { /* the peer may be gone already */ }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException or OperationCanceledException or TimeoutException)
        {
            // The peer went away, or the connection was closed from this side.
        }
        finally
        {
            Close();
        }
    }

    private void Close()
    {
        // Streams first: a handler's write in between then reads as its stream's end, not as a fault.
        Http2Stream[] open;
        lock (_streams) open = [.. _streams.Values];
        foreach (var stream in open) stream.Abort();
        _writer.Close();
        try { _closing.Cancel(); } catch (ObjectDisposedException) { }
        try { _transport.Dispose(); } catch (Exception) { /* a dead device may refuse even that */ }
    }

    /// <summary>Tells the peer to open no more streams; the connection ends once those in flight are done.</summary>
    private async Task GoAwayAsync()
    {
        lock (_streams)
        {
            if (_goingAway) return;
            _goingAway = true;
            _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_streams.Count == 0) _drained.TrySetResult();
        }
        try
        {
            await _writer.WriteGoAwayAsync(_lastStreamId, Http2ErrorCode.NoError, "the server is stopping", CancellationToken.None);
            await _drained.Task;
        }
        catch (Exception) { /* the connection ended first */ }
        Close();
    }

    private async Task SendSettingsAsync()
    {
        var payload = new byte[4 * 6];
        WriteSetting(payload.AsSpan(0), SettingId.EnablePush, 0);
        WriteSetting(payload.AsSpan(6), SettingId.MaxConcurrentStreams, (uint)_options.MaxConcurrentStreams);
        WriteSetting(payload.AsSpan(12), SettingId.InitialWindowSize, (uint)_options.ReceiveWindow);
        WriteSetting(payload.AsSpan(18), SettingId.MaxHeaderListSize, (uint)_options.MaxHeaderListBytes);
        await _writer.WriteFrameAsync(FrameType.Settings, 0, 0, payload, _closing.Token);
        // The connection's window starts at 64 KiB whatever the settings say; only a WINDOW_UPDATE widens it.
        if (_options.ReceiveWindow > Http2Constants.DefaultWindow)
            await _writer.WriteWindowUpdateAsync(0, _options.ReceiveWindow - Http2Constants.DefaultWindow, _closing.Token);
    }

    private static void WriteSetting(Span<byte> at, SettingId id, uint value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(at, (ushort)id);
        BinaryPrimitives.WriteUInt32BigEndian(at[2..], value);
    }

    private async Task ReadPrefaceAsync()
    {
        var preface = await _reader.ReadAsync(Http2Constants.Preface.Length, _closing.Token)
            ?? throw new EndOfStreamException("the connection ended before the client preface");
        if (!preface.Span.SequenceEqual(Http2Constants.Preface))
            throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, "the connection does not start with the HTTP/2 client preface");
    }

    private async Task ReadFramesAsync()
    {
        var first = true;
        // This server never raises SETTINGS_MAX_FRAME_SIZE, so the default bounds every frame.
        while (await _reader.ReadFrameAsync(Http2Constants.DefaultMaxFrameSize, _closing.Token) is { } next)
        {
            var (frame, payload) = next;
            if (first && frame.Type != FrameType.Settings)
                throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"the connection's first frame is {frame.Type}, not SETTINGS");
            first = false;
            if (_blockStreamId != 0 && frame.Type != FrameType.Continuation)
                throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"a {frame.Type} frame came in the middle of stream {_blockStreamId}'s header block");
            try
            {
                await HandleFrameAsync(frame, payload);
            }
            catch (Http2ProtocolException e) when (e.StreamId is { } id)
            {
                _log?.Invoke($"HTTP/2 stream {id} reset: {e.Message}");
                Forget(id);
                await ResetAsync(id, e.Code);
            }
        }
    }

    private Task HandleFrameAsync(FrameHeader frame, ReadOnlyMemory<byte> payload) => frame.Type switch
    {
        FrameType.Data => OnDataAsync(frame, payload),
        FrameType.Headers => OnHeadersAsync(frame, payload.Span),
        FrameType.Continuation => OnContinuationAsync(frame, payload.Span),
        FrameType.Priority => OnPriority(frame),
        FrameType.RstStream => OnReset(frame, payload.Span),
        FrameType.Settings => OnSettingsAsync(frame, payload.Span),
        FrameType.PushPromise => throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, "a client may not send PUSH_PROMISE"),
        FrameType.Ping => OnPingAsync(frame, payload),
        FrameType.GoAway => OnGoAway(frame, payload.Span),
        FrameType.WindowUpdate => OnWindowUpdate(frame, payload.Span),
        _ => Task.CompletedTask, // unknown frame types are ignored (RFC 9113 section 4.1)
    };

    private async Task OnDataAsync(FrameHeader frame, ReadOnlyMemory<byte> payload)
    {
        RequireStream(frame);
        // Flow control counts the whole payload, padding included, whatever becomes of the data.
        _receiveWindow -= frame.Length;
        if (_receiveWindow < 0)
            throw new Http2ProtocolException(Http2ErrorCode.FlowControlError, "DATA beyond the connection's receive window");
        _receivedSinceUpdate += frame.Length;
        if (_receivedSinceUpdate >= ConnectionWindow / 2)
        {
            await _writer.WriteWindowUpdateAsync(0, (int)_receivedSinceUpdate, _closing.Token);
            _receiveWindow += _receivedSinceUpdate;
            _receivedSinceUpdate = 0;
        }
        var data = Unpad(frame, payload.Span);
        var stream = Find(frame.StreamId);
        if (stream is null || stream.RemoteEnded)
        {
            if (frame.StreamId > _lastStreamId)
                throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"DATA on stream {frame.StreamId}, which was never opened");
            if (stream is not null)
                throw new Http2ProtocolException(Http2ErrorCode.StreamClosed, $"DATA on stream {frame.StreamId} after its end", frame.StreamId);
            if (WasReset(frame.StreamId)) return; // frames in flight still arrive
            throw new Http2ProtocolException(Http2ErrorCode.StreamClosed, $"DATA on stream {frame.StreamId}, which is closed");
        }
        stream.ReceiveWindow -= frame.Length;
        if (stream.ReceiveWindow < 0)
            throw new Http2ProtocolException(Http2ErrorCode.FlowControlError, $"DATA beyond stream {frame.StreamId}'s receive window", frame.StreamId);
        stream.Receive(data);
        if (frame.Has(FrameFlags.EndStream))
        {
            stream.EndRemote();
            return;
        }
        stream.ReceivedSinceUpdate += frame.Length;
        if (stream.ReceivedSinceUpdate >= _options.ReceiveWindow / 2)
        {
            await _writer.WriteWindowUpdateAsync(frame.StreamId, stream.ReceivedSinceUpdate, _closing.Token);
            stream.ReceiveWindow += stream.ReceivedSinceUpdate;
            stream.ReceivedSinceUpdate = 0;
        }
    }

    private Task OnHeadersAsync(FrameHeader frame, ReadOnlySpan<byte> payload)
    {
        RequireStream(frame);
        var fragment = Unpad(frame, payload);
        if (frame.Has(FrameFlags.Priority))
        {
            if (fragment.Length < 5) throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, "a HEADERS frame too short for its priority fields");
            fragment = fragment[5..];
        }
        _headerBlock.ResetWrittenCount();
        _blockStreamId = frame.StreamId;
        _blockEndsStream = frame.Has(FrameFlags.EndStream);
        return AppendBlock(fragment, frame.Has(FrameFlags.EndHeaders));
    }

    private Task OnContinuationAsync(FrameHeader frame, ReadOnlySpan<byte> payload)
    {
        if (_blockStreamId == 0 || frame.StreamId != _blockStreamId)
            throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"a CONTINUATION frame on stream {frame.StreamId} follows no header block of its stream");
        return AppendBlock(payload, frame.Has(FrameFlags.EndHeaders));
    }

    private Task AppendBlock(ReadOnlySpan<byte> fragment, bool complete)
    {
        // A compressed block is bounded as its decoded list is: HPACK never makes a field list larger than twice its text.
        if (_headerBlock.WrittenCount + fragment.Length > 2 * _options.MaxHeaderListBytes)
            throw new Http2ProtocolException(Http2ErrorCode.EnhanceYourCalm, $"a header block larger than {2 * _options.MaxHeaderListBytes} bytes");
        _headerBlock.Write(fragment);
        if (!complete) return Task.CompletedTask;
        var streamId = _blockStreamId;
        _blockStreamId = 0;
        List<KeyValuePair<string, string>> fields = [];
        try
        {
            _decoder.Decode(_headerBlock.WrittenSpan, fields);
        }
        catch (HpackException e)
        {
            throw new Http2ProtocolException(Http2ErrorCode.CompressionError, $"stream {streamId}'s header block does not decode: {e.Message}");
        }
        return OnHeaderBlockAsync(streamId, fields, _blockEndsStream);
    }

    private Task OnHeaderBlockAsync(int streamId, List<KeyValuePair<string, string>> fields, bool endStream)
    {
        if (Find(streamId) is { } open)
        {
            // Trailers: they end the request and carry nothing a handler reads.
            if (open.RemoteEnded) throw new Http2ProtocolException(Http2ErrorCode.StreamClosed, $"HEADERS on stream {streamId} after its end", streamId);
            if (!endStream) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"trailers on stream {streamId} do not end it", streamId);
            if (fields.Any(f => f.Key.StartsWith(':'))) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"trailers on stream {streamId} carry a pseudo-header", streamId);
            open.EndRemote();
            return Task.CompletedTask;
        }
        if (streamId <= _lastStreamId)
        {
            // A stream reset here may still have the peer's frames in flight: they are ignored (RFC 9113 section
            // 5.1), the block having been decoded for the connection's HPACK state. Any other is closed.
            if (WasReset(streamId)) return Task.CompletedTask;
            throw new Http2ProtocolException(Http2ErrorCode.StreamClosed, $"HEADERS on stream {streamId}, which is closed");
        }
        if (streamId % 2 == 0)
            throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"a client opened stream {streamId}, an even (server) stream id");
        _lastStreamId = streamId;
        var (pseudo, regular) = RequestFields.Split(streamId, fields);
        var contentLength = RequestFields.ContentLength(streamId, regular);
        Http2Stream stream;
        lock (_streams)
        {
            if (_goingAway) throw new Http2ProtocolException(Http2ErrorCode.RefusedStream, $"stream {streamId} opened after GOAWAY", streamId);
            if (_streams.Count >= _options.MaxConcurrentStreams)
                throw new Http2ProtocolException(Http2ErrorCode.RefusedStream, $"stream {streamId} is beyond {_options.MaxConcurrentStreams} streams at once", streamId);
            stream = new Http2Stream(streamId, _writer, _peerInitialWindow, _options.MaxRequestBodyBytes, pseudo, regular, contentLength)
            {
                ReceiveWindow = _options.ReceiveWindow,
            };
            _streams.Add(streamId, stream);
        }
        if (endStream) stream.EndRemote();
        _ = Task.Run(() => RunHandlerAsync(stream));
        return Task.CompletedTask;
    }

    private async Task RunHandlerAsync(Http2Stream stream)
    {
        try
        {
            await _handler(stream);
            if (!stream.Ended && !stream.Aborted.IsCancellationRequested)
                await ResetAsync(stream.Id, Http2ErrorCode.InternalError);
            else if (!stream.RemoteEnded && !stream.Aborted.IsCancellationRequested)
                await ResetAsync(stream.Id, Http2ErrorCode.NoError); // the answer is complete: stop sending
        }
        catch (Exception e)
        {
            if (!stream.Aborted.IsCancellationRequested)
            {
                _log?.Invoke($"HTTP/2 {stream} failed: {e.GetType().Name}: {e.Message}");
                try { await ResetAsync(stream.Id, Http2ErrorCode.InternalError); } catch (Exception) { }
            }
        }
        finally
        {
            try { await _writer.FlushAsync(); } catch (Exception) { /* the connection is gone */ }
            lock (_streams)
            {
                _streams.Remove(stream.Id);
                if (_goingAway && _streams.Count == 0) _drained?.TrySetResult();
            }
            stream.Abort(); // wakes nothing by now, but frees any wait on the body
        }
    }

    private Task OnPriority(FrameHeader frame)
    {
        RequireStream(frame);
        // A stream error resets the stream, but a stream never opened may not be reset (RFC 9113 section 6.4): the
        // connection's error, then.
        if (frame.Length != 5)
            throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, $"a PRIORITY frame of {frame.Length} bytes, not 5, on stream {frame.StreamId}",
                frame.StreamId <= _lastStreamId ? frame.StreamId : null);
        return Task.CompletedTask;
    }

    private Task OnReset(FrameHeader frame, ReadOnlySpan<byte> payload)
    {
        RequireStream(frame);
        if (frame.Length != 4) throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, $"a RST_STREAM frame of {frame.Length} bytes, not 4");
        if (frame.StreamId > _lastStreamId) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"RST_STREAM on stream {frame.StreamId}, which was never opened");
        Forget(frame.StreamId);
        return Task.CompletedTask;
    }

    private Task OnSettingsAsync(FrameHeader frame, ReadOnlySpan<byte> payload)
    {
        if (frame.StreamId != 0) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, "SETTINGS on a stream");
        if (frame.Has(FrameFlags.Ack))
        {
            if (frame.Length != 0) throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, "a SETTINGS acknowledgement with a payload");
            return Task.CompletedTask;
        }
        if (frame.Length % 6 != 0) throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, $"a SETTINGS frame of {frame.Length} bytes, not a multiple of 6");
        for (var at = 0; at < payload.Length; at += 6)
        {
            var id = (SettingId)BinaryPrimitives.ReadUInt16BigEndian(payload[at..]);
            var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(at + 2)..]);
            switch (id)
            {
                case SettingId.EnablePush when value > 1:
                    throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"SETTINGS_ENABLE_PUSH {value}");
                case SettingId.InitialWindowSize:
                    if (value > Http2Constants.MaxWindow)
                        throw new Http2ProtocolException(Http2ErrorCode.FlowControlError, $"SETTINGS_INITIAL_WINDOW_SIZE {value} is above 2^31-1");
                    ChangeInitialWindow(value);
                    break;
                case SettingId.MaxFrameSize:
                    if (value is < Http2Constants.DefaultMaxFrameSize or > Http2Constants.LargestMaxFrameSize)
                        throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"SETTINGS_MAX_FRAME_SIZE {value} is outside 16384..16777215");
                    _writer.MaxFrameSize = (int)value;
                    break;
                // The header table size does not matter to an encoder that never indexes; the rest bind only clients.
            }
        }
        return _writer.WriteFrameAsync(FrameType.Settings, FrameFlags.Ack, 0, ReadOnlyMemory<byte>.Empty, _closing.Token);
    }

    /// <summary>A new initial window changes every open stream's send window by the difference (RFC 9113 section 6.9.2).</summary>
    private void ChangeInitialWindow(uint value)
    {
        var delta = value - _peerInitialWindow;
        _peerInitialWindow = value;
        Http2Stream[] open;
        lock (_streams) open = [.. _streams.Values];
        foreach (var stream in open)
        {
            if (!_writer.ChangeStreamWindow(stream.SendWindow, delta))
                throw new Http2ProtocolException(Http2ErrorCode.FlowControlError, $"SETTINGS_INITIAL_WINDOW_SIZE {value} takes stream {stream.Id}'s window past 2^31-1");
        }
    }

    private async Task OnPingAsync(FrameHeader frame, ReadOnlyMemory<byte> payload)
    {
        if (frame.StreamId != 0) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, "PING on a stream");
        if (frame.Length != 8) throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, $"a PING frame of {frame.Length} bytes, not 8");
        if (!frame.Has(FrameFlags.Ack)) await _writer.WriteFrameAsync(FrameType.Ping, FrameFlags.Ack, 0, payload.ToArray(), _closing.Token);
    }

    private Task OnGoAway(FrameHeader frame, ReadOnlySpan<byte> payload)
    {
        if (frame.StreamId != 0) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, "GOAWAY on a stream");
        if (frame.Length < 8) throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, $"a GOAWAY frame of {frame.Length} bytes, under 8");
        // The peer opens no more streams; those in flight finish, and the peer closes the connection.
        return Task.CompletedTask;
    }

    private Task OnWindowUpdate(FrameHeader frame, ReadOnlySpan<byte> payload)
    {
        if (frame.Length != 4) throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError, $"a WINDOW_UPDATE frame of {frame.Length} bytes, not 4");
        var increment = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF);
        if (frame.StreamId == 0)
        {
            if (increment == 0) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, "a WINDOW_UPDATE of 0 on the connection");
            if (!_writer.OpenConnectionWindow(increment))
                throw new Http2ProtocolException(Http2ErrorCode.FlowControlError, "a WINDOW_UPDATE takes the connection's window past 2^31-1");
            return Task.CompletedTask;
        }
        if (frame.StreamId > _lastStreamId)
            throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"WINDOW_UPDATE on stream {frame.StreamId}, which was never opened");
        if (increment == 0) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"a WINDOW_UPDATE of 0 on stream {frame.StreamId}", frame.StreamId);
        if (Find(frame.StreamId) is { } stream && !_writer.ChangeStreamWindow(stream.SendWindow, increment))
            throw new Http2ProtocolException(Http2ErrorCode.FlowControlError, $"a WINDOW_UPDATE takes stream {frame.StreamId}'s window past 2^31-1", frame.StreamId);
        return Task.CompletedTask;
    }

    /// <summary>Resets a stream, remembering it for a while: the peer's frames already on their way are then ignored.</summary>
    private Task ResetAsync(int streamId, Http2ErrorCode code)
    {
        lock (_recentlyReset)
        {
            if (_recentlyReset.Add(streamId)) _resetOrder.Enqueue(streamId);
            if (_resetOrder.Count > RememberedResets) _recentlyReset.Remove(_resetOrder.Dequeue());
        }
        return _writer.WriteResetAsync(streamId, code, _closing.Token);
    }

    private bool WasReset(int streamId)
    {
        lock (_recentlyReset) return _recentlyReset.Contains(streamId);
    }

    /// <summary>A stream reset by either side: out of the table, and its handler told.</summary>
    private void Forget(int streamId)
    {
        Http2Stream? stream;
        lock (_streams) _streams.Remove(streamId, out stream);
        stream?.Abort();
    }

    private Http2Stream? Find(int streamId)
    {
        lock (_streams) return _streams.GetValueOrDefault(streamId);
    }

    private static void RequireStream(FrameHeader frame)
    {
        if (frame.StreamId == 0) throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"a {frame.Type} frame on stream 0");
    }

    /// <summary>The payload less its padding, for frames with the PADDED flag.</summary>
    private static ReadOnlySpan<byte> Unpad(FrameHeader frame, ReadOnlySpan<byte> payload)
    {
        if (!frame.Has(FrameFlags.Padded)) return payload;
        if (payload.Length == 0 || payload[0] >= payload.Length)
            throw new Http2ProtocolException(Http2ErrorCode.ProtocolError, $"a padded {frame.Type} frame whose padding is not shorter than its payload");
        return payload[1..^payload[0]];
    }
}
