using System.Buffers;
using System.Buffers.Binary;
using Nerdbox.Http2.Hpack;

namespace Nerdbox.Http2.Frames;

/// <summary>
/// Writes frames to the connection, whole and one at a time, and keeps the connection's send window. Frames may be
/// queued and written together (a unary answer's headers, message and trailers go in one write: under emulation each
/// write to the channel's device is costly). A stream's DATA waits for window on both the connection and the stream,
/// as the peer's WINDOW_UPDATEs open it.
/// </summary>
internal sealed class FrameWriter(Stream transport)
{
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly ArrayBufferWriter<byte> _pending = new(4096);
    private readonly object _windows = new();
    private long _connectionWindow = Http2Constants.DefaultWindow;
    private TaskCompletionSource _windowOpened = NewSignal();
    private volatile bool _closed;

    /// <summary>The largest frame payload the peer takes (its SETTINGS_MAX_FRAME_SIZE).</summary>
    public int MaxFrameSize { get; set; } = Http2Constants.DefaultMaxFrameSize;

    /// <summary>
    /// Queues one frame and, when <paramref name="flush"/> is set, writes everything queued in one write. A frame is
    /// never written in part: cancellation is honoured only while waiting for the writer, not in the transport's write.
    /// </summary>
    public Task WriteFrameAsync(FrameType type, byte flags, int streamId, ReadOnlyMemory<byte> payload, CancellationToken ct, bool flush = true) =>
        QueueAsync(() => Append(type, flags, streamId, payload.Span), ct, flush);

    /// <summary>Queues frames (back to back, nothing of another writer between them) and flushes as <see cref="WriteFrameAsync"/> does.</summary>
    private async Task QueueAsync(Action append, CancellationToken ct, bool flush)
    {
        await _writing.WaitAsync(ct);
        try
        {
            if (_closed) throw new IOException("the HTTP/2 connection is closed");
            append();
            if (flush || _pending.WrittenCount >= FlushAbove) await FlushLockedAsync();
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes whatever frames are queued.</summary>
    public async Task FlushAsync()
    {
        await _writing.WaitAsync();
        try
        {
            if (!_closed) await FlushLockedAsync();
        }
        finally
        {
            _writing.Release();
        }
    }

    // Frames queued without a flush are written once this much is waiting, so a long message is not held whole.
    private const int FlushAbove = 64 * 1024;

    private void Append(FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = _pending.GetSpan(FrameHeader.Size + payload.Length);
        new FrameHeader(payload.Length, type, flags, streamId).Write(frame);
        payload.CopyTo(frame[FrameHeader.Size..]);
        _pending.Advance(FrameHeader.Size + payload.Length);
    }

    private async Task FlushLockedAsync()
    {
        if (_pending.WrittenCount == 0) return;
        try
        {
            await transport.WriteAsync(_pending.WrittenMemory, CancellationToken.None);
            await transport.FlushAsync(CancellationToken.None);
        }
        finally
        {
            _pending.ResetWrittenCount();
        }
    }

    /// <summary>A header block as HEADERS and, when it is larger than a frame, CONTINUATIONs, queued back to back.</summary>
    public Task WriteHeadersAsync(int streamId, byte[] block, bool endStream, CancellationToken ct, bool flush = true) =>
        QueueAsync(() =>
        {
            var offset = 0;
            var first = true;
            do
            {
                var length = Math.Min(MaxFrameSize, block.Length - offset);
                var last = offset + length == block.Length;
                var type = first ? FrameType.Headers : FrameType.Continuation;
                var flags = (byte)((last ? FrameFlags.EndHeaders : 0) | (first && endStream ? FrameFlags.EndStream : 0));
                Append(type, flags, streamId, block.AsSpan(offset, length));
                offset += length;
                first = false;
            } while (offset < block.Length);
        }, ct, flush);

    /// <summary>Sends <paramref name="data"/> on a stream as DATA frames, each within both send windows and the peer's frame size.</summary>
    public async Task WriteDataAsync(StreamSendWindow stream, ReadOnlyMemory<byte> data, bool endStream, CancellationToken ct, bool flush = true)
    {
        var offset = 0;
        do
        {
            var granted = data.Length == 0 ? 0 : await TakeWindowAsync(stream, Math.Min(MaxFrameSize, data.Length - offset), ct);
            var last = offset + granted == data.Length;
            await WriteFrameAsync(FrameType.Data, last && endStream ? FrameFlags.EndStream : (byte)0, stream.StreamId,
                data.Slice(offset, granted), ct, flush: last ? flush : false);
            offset += granted;
        } while (offset < data.Length);
    }

    /// <summary>Takes up to <paramref name="wanted"/> bytes of both windows, waiting while either is shut.</summary>
    private async Task<int> TakeWindowAsync(StreamSendWindow stream, int wanted, CancellationToken ct)
    {
        while (true)
        {
            Task opened;
            lock (_windows)
            {
                if (_closed) throw new IOException("the HTTP/2 connection is closed");
                var granted = (int)Math.Min(wanted, Math.Min(_connectionWindow, stream.Window));
                if (granted > 0)
                {
                    _connectionWindow -= granted;
                    stream.Window -= granted;
                    return granted;
                }
                opened = _windowOpened.Task;
            }
            // What is queued must reach the peer before its window can open again.
            await FlushAsync();
            await opened.WaitAsync(ct);
        }
    }

    /// <summary>The peer opened the connection's window; false when that would take it past 2^31-1.</summary>
    public bool OpenConnectionWindow(int increment)
    {
        lock (_windows)
        {
            if (_connectionWindow + increment > Http2Constants.MaxWindow) return false;
            _connectionWindow += increment;
            SignalLocked();
            return true;
        }
    }

    /// <summary>The peer changed a stream's window (WINDOW_UPDATE, or a new SETTINGS_INITIAL_WINDOW_SIZE); false on overflow.</summary>
    public bool ChangeStreamWindow(StreamSendWindow stream, long delta)
    {
        lock (_windows)
        {
            if (stream.Window + delta > Http2Constants.MaxWindow) return false;
            stream.Window += delta;
            if (delta > 0) SignalLocked();
            return true;
        }
    }

    /// <summary>Ends every write in progress or to come: the connection is gone.</summary>
    public void Close()
    {
        lock (_windows)
        {
            _closed = true;
            SignalLocked();
        }
    }

    private void SignalLocked()
    {
        var opened = _windowOpened;
        _windowOpened = NewSignal();
        opened.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task WriteWindowUpdateAsync(int streamId, int increment, CancellationToken ct)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment);
        return WriteFrameAsync(FrameType.WindowUpdate, 0, streamId, payload, ct);
    }

    public Task WriteResetAsync(int streamId, Http2ErrorCode code, CancellationToken ct)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)code);
        return WriteFrameAsync(FrameType.RstStream, 0, streamId, payload, ct);
    }

    public Task WriteGoAwayAsync(int lastStreamId, Http2ErrorCode code, string debug, CancellationToken ct)
    {
        var text = System.Text.Encoding.UTF8.GetBytes(debug.Length > 512 ? debug[..512] : debug);
        var payload = new byte[8 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)lastStreamId);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), (uint)code);
        text.CopyTo(payload, 8);
        return WriteFrameAsync(FrameType.GoAway, 0, 0, payload, ct);
    }

    /// <summary>Encodes a response's header fields (status first when given) as one block.</summary>
    public static byte[] HeaderBlock(int? status, IEnumerable<KeyValuePair<string, string>> fields)
    {
        var block = new ArrayBufferWriter<byte>(128);
        if (status is { } s) HpackEncoder.EncodeStatus(s, block);
        foreach (var (name, value) in fields) HpackEncoder.Encode(name, value, block);
        return block.WrittenSpan.ToArray();
    }
}

/// <summary>A stream's send window, changed under the writer's lock only.</summary>
internal sealed class StreamSendWindow(int streamId, long initial)
{
    public int StreamId { get; } = streamId;
    public long Window { get; set; } = initial;
}
