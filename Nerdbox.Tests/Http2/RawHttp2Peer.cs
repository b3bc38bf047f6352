using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Nerdbox.Http2;
using Nerdbox.Http2.Frames;
using Nerdbox.Http2.Hpack;

namespace Nerdbox.Tests.Http2;

/// <summary>
/// One <see cref="Http2Connection"/> served on the far end of a connected pair of unix-domain sockets: the near end
/// for a client, the server's log, and the paths its handler was called for.
/// </summary>
internal sealed class ServedConnection : IAsyncDisposable
{
    /// <summary>How long anything the tests wait for may take; far beyond what it needs.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ConcurrentQueue<string> _log = new();
    private readonly ConcurrentQueue<string> _requests = new();

    private ServedConnection(Stream client, Stream server, Func<Http2Stream, Task> handler, Http2ServerOptions options)
    {
        Client = client;
        Serving = Http2Connection.ServeAsync(server, stream =>
        {
            _requests.Enqueue(stream.Path);
            return handler(stream);
        }, options, _log.Enqueue, Stopping.Token);
    }

    public static async Task<ServedConnection> StartAsync(Func<Http2Stream, Task> handler, Http2ServerOptions options)
    {
        var (client, server) = await ConnectedPairAsync();
        return new ServedConnection(client, server, handler, options);
    }

    /// <summary>The client's end of the connection.</summary>
    public Stream Client { get; }

    /// <summary><see cref="Http2Connection.ServeAsync"/>, running.</summary>
    public Task Serving { get; }

    /// <summary>The token <see cref="Http2Connection.ServeAsync"/> was given.</summary>
    public CancellationTokenSource Stopping { get; } = new();

    public string Log => string.Join('\n', _log);

    /// <summary>The paths of the requests the handler was called for, in order.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>Waits for <see cref="Serving"/> to end; an exception out of it fails the test.</summary>
    public async Task EndedAsync()
    {
        try
        {
            await Serving.WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"ServeAsync did not end within {Patience.TotalSeconds} s\n{Log}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        // The transport's end ends the connection; a failure of it was asserted by the test that cared.
        try { await Serving.WaitAsync(Patience); } catch (Exception) { }
        Stopping.Dispose();
    }

    private static async Task<(Stream Client, Stream Server)> ConnectedPairAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"nerdbox-h2-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            var accepting = listener.AcceptAsync();
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
            var server = await accepting.WaitAsync(Patience);
            return (new NetworkStream(client, ownsSocket: true), new NetworkStream(server, ownsSocket: true));
        }
        catch
        {
            client.Dispose();
            throw;
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>A frame as the peer read it.</summary>
internal sealed record RawFrame(FrameHeader Header, byte[] Payload)
{
    public FrameType Type => Header.Type;
    public int StreamId => Header.StreamId;
    public bool Has(byte flag) => Header.Has(flag);

    public override string ToString() => $"{Type} on stream {StreamId} ({Payload.Length} bytes, flags 0x{Header.Flags:x2})";
}

/// <summary>A GOAWAY's fields.</summary>
internal sealed record GoAway(int LastStreamId, Http2ErrorCode Code, string Debug);

/// <summary>One stream's answer: its header fields, body and trailers, or the code of the RST_STREAM that ended it.</summary>
internal sealed record RawResponse(List<KeyValuePair<string, string>> Headers, byte[] Body, List<KeyValuePair<string, string>> Trailers, Http2ErrorCode? Reset)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key == name).Value;

    public string? Trailer(string name) => Trailers.FirstOrDefault(h => h.Key == name).Value;

    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A client that speaks HTTP/2 frame by frame, so that it can also break the protocol: header blocks through the
/// project's HPACK encoder (fields as given, uppercase or misplaced ones included), answers read frame by frame.
/// It owns the connection it talks to.
/// </summary>
internal sealed class RawHttp2Peer : IAsyncDisposable
{
    private readonly Stream _transport;
    private readonly HpackDecoder _decoder = new(4096, 1 << 20);

    // Frames of streams read while waiting for something else, in the order they came.
    private readonly List<RawFrame> _setAside = [];

    private RawHttp2Peer(ServedConnection server)
    {
        Server = server;
        _transport = server.Client;
    }

    public ServedConnection Server { get; }

    public static async Task<RawHttp2Peer> ConnectAsync(Func<Http2Stream, Task> handler, Http2ServerOptions options) =>
        new(await ServedConnection.StartAsync(handler, options));

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    // Writing.

    public async Task SendRawAsync(byte[] bytes)
    {
        await _transport.WriteAsync(bytes);
        await _transport.FlushAsync();
    }

    /// <summary>What every HTTP/2 client sends first.</summary>
    public static byte[] Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>The client preface and the client's SETTINGS, with the settings given.</summary>
    public Task SendPrefaceAsync(params (SettingId Id, uint Value)[] settings) =>
        SendRawAsync([.. Preface, .. Frame(FrameType.Settings, 0, 0, Settings(settings))]);

    public Task SendFrameAsync(FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload) =>
        SendRawAsync(Frame(type, flags, streamId, payload));

    public Task SendHeadersAsync(int streamId, byte[] block, bool endStream) =>
        SendFrameAsync(FrameType.Headers, (byte)(FrameFlags.EndHeaders | (endStream ? FrameFlags.EndStream : 0)), streamId, block);

    public Task SendDataAsync(int streamId, ReadOnlySpan<byte> data, bool endStream) =>
        SendFrameAsync(FrameType.Data, endStream ? FrameFlags.EndStream : (byte)0, streamId, data);

    public Task SendWindowUpdateAsync(int streamId, uint increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, increment);
        return SendFrameAsync(FrameType.WindowUpdate, 0, streamId, payload);
    }

    public static byte[] Frame(FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameHeader.Size + payload.Length];
        new FrameHeader(payload.Length, type, flags, streamId).Write(frame);
        payload.CopyTo(frame.AsSpan(FrameHeader.Size));
        return frame;
    }

    public static byte[] Settings(params (SettingId Id, uint Value)[] settings)
    {
        var payload = new byte[6 * settings.Length];
        for (var i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(6 * i), (ushort)settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(6 * i + 2), settings[i].Value);
        }
        return payload;
    }

    /// <summary>A header block of exactly these fields, in this order.</summary>
    public static byte[] Block(IEnumerable<KeyValuePair<string, string>> fields)
    {
        var block = new ArrayBufferWriter<byte>();
        foreach (var (name, value) in fields) HpackEncoder.Encode(name, value, block);
        return block.WrittenSpan.ToArray();
    }

    /// <summary>A well-formed request's block: the four pseudo-headers, then <paramref name="fields"/>.</summary>
    public static byte[] Request(string method, string path, params KeyValuePair<string, string>[] fields) =>
        Block([new(":method", method), new(":scheme", "http"), new(":path", path), new(":authority", "agent"), .. fields]);

    // Reading.

    /// <summary>The next frame off the connection (none set aside), or null once the server has closed it.</summary>
    public async Task<RawFrame?> ReadFrameAsync(string waitingFor)
    {
        using var timeout = new CancellationTokenSource(ServedConnection.Patience);
        try
        {
            var header = new byte[FrameHeader.Size];
            var read = await _transport.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, timeout.Token);
            if (read == 0) return null;
            if (read < header.Length) throw new EndOfStreamException($"the connection ended inside a frame header, waiting for {waitingFor}");
            var frame = FrameHeader.Read(header);
            var payload = new byte[frame.Length];
            await _transport.ReadExactlyAsync(payload, timeout.Token);
            return new RawFrame(frame, payload);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"no frame within {ServedConnection.Patience.TotalSeconds} s, waiting for {waitingFor}\n{Server.Log}");
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            // A server that closes its end with bytes of ours unread resets the connection: after what it sent, as an end.
            return null;
        }
    }

    /// <summary>
    /// The next frame <paramref name="wanted"/> accepts, past any other: those of the connection (settings, window
    /// updates, pings) are dropped, those of streams set aside for a later call. A GOAWAY or the connection's end on
    /// the way fails the test with what the server said.
    /// </summary>
    public async Task<RawFrame> NextAsync(Func<RawFrame, bool> wanted, string what)
    {
        if (_setAside.FindIndex(f => wanted(f)) is var earlier and >= 0)
        {
            var found = _setAside[earlier];
            _setAside.RemoveAt(earlier);
            return found;
        }
        while (true)
        {
            var frame = await ReadFrameAsync(what) ?? throw new Xunit.Sdk.XunitException($"the connection ended, waiting for {what}\n{Server.Log}");
            if (wanted(frame)) return frame;
            if (frame.Type == FrameType.GoAway)
            {
                var goAway = ReadGoAway(frame);
                throw new Xunit.Sdk.XunitException($"GOAWAY {goAway.Code} '{goAway.Debug}', waiting for {what}\n{Server.Log}");
            }
            if (frame.StreamId != 0) _setAside.Add(frame);
        }
    }

    /// <summary>The server's GOAWAY.</summary>
    public async Task<GoAway> ReadGoAwayAsync() => ReadGoAway(await NextAsync(f => f.Type == FrameType.GoAway, "a GOAWAY"));

    /// <summary>The error code of the RST_STREAM the server sends on <paramref name="streamId"/>.</summary>
    public async Task<Http2ErrorCode> ReadResetAsync(int streamId)
    {
        var reset = await NextAsync(f => f.Type == FrameType.RstStream && f.StreamId == streamId, $"RST_STREAM on stream {streamId}");
        return (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(reset.Payload);
    }

    /// <summary>One stream's whole answer, up to its END_STREAM or its RST_STREAM; other streams' frames are set aside.</summary>
    public async Task<RawResponse> ReadResponseAsync(int streamId)
    {
        List<KeyValuePair<string, string>>? headers = null;
        List<KeyValuePair<string, string>> trailers = [];
        var body = new MemoryStream();
        while (true)
        {
            var frame = await NextAsync(f => f.StreamId == streamId && f.Type is FrameType.Headers or FrameType.Data or FrameType.RstStream,
                $"the answer on stream {streamId}");
            if (frame.Type == FrameType.RstStream)
                return new RawResponse(headers ?? [], body.ToArray(), trailers, (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(frame.Payload));
            if (frame.Type == FrameType.Data)
            {
                Assert.True(headers is not null, $"DATA on stream {streamId} before its headers");
                body.Write(frame.Payload);
            }
            else
            {
                var fields = await ReadHeaderBlockAsync(frame);
                if (headers is null) headers = fields;
                else trailers = fields;
            }
            if (frame.Has(FrameFlags.EndStream)) return new RawResponse(headers!, body.ToArray(), trailers, null);
        }
    }

    /// <summary>A HEADERS frame's block decoded, with the CONTINUATIONs that follow it when it does not end the block.</summary>
    public async Task<List<KeyValuePair<string, string>>> ReadHeaderBlockAsync(RawFrame headers)
    {
        var block = new MemoryStream();
        block.Write(headers.Payload);
        var last = headers;
        while (!last.Has(FrameFlags.EndHeaders))
        {
            last = await NextAsync(f => f.StreamId == headers.StreamId, $"a CONTINUATION of stream {headers.StreamId}'s header block");
            Assert.True(last.Type == FrameType.Continuation, $"{last} inside stream {headers.StreamId}'s header block");
            block.Write(last.Payload);
        }
        List<KeyValuePair<string, string>> fields = [];
        _decoder.Decode(block.ToArray(), fields);
        return fields;
    }

    public static GoAway ReadGoAway(RawFrame frame) => new(
        (int)(BinaryPrimitives.ReadUInt32BigEndian(frame.Payload) & 0x7FFF_FFFF),
        (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(frame.Payload.AsSpan(4)),
        Encoding.UTF8.GetString(frame.Payload.AsSpan(8)));
}
