using System.Globalization;
using Nerdbox.Http2.Frames;

namespace Nerdbox.Http2;

/// <summary>
/// One request stream as its handler sees it: the request's pseudo-headers and fields, its whole body (read under
/// a bound), and the response, sent as headers, data and trailers. Writes wait for the peer's flow-control window
/// and end with <see cref="OperationCanceledException"/> once the peer resets the stream or the connection ends.
/// </summary>
public sealed class Http2Stream
{
    private readonly FrameWriter _writer;
    private readonly StreamSendWindow _send;
    private readonly int _maxBodyBytes;
    private readonly MemoryStream _body = new();
    private readonly TaskCompletionSource<RequestBody> _bodyComplete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _aborted = new();
    private bool _bodyTooLarge;
    private long _bodyBytes;
    private int _responseState; // 0: nothing sent, 1: headers sent, 2: ended

    internal Http2Stream(int id, FrameWriter writer, long sendWindow, int maxBodyBytes, IReadOnlyList<KeyValuePair<string, string>> pseudo,
        IReadOnlyList<KeyValuePair<string, string>> fields, long? contentLength = null)
    {
        Id = id;
        ContentLength = contentLength;
        _writer = writer;
        _send = new StreamSendWindow(id, sendWindow);
        _maxBodyBytes = maxBodyBytes;
        Fields = fields;
        foreach (var (name, value) in pseudo)
        {
            switch (name)
            {
                case ":method": Method = value; break;
                case ":path": Path = value; break;
                case ":scheme": Scheme = value; break;
                case ":authority": Authority = value; break;
            }
        }
    }

    public int Id { get; }
    public string Method { get; } = "";
    public string Path { get; } = "";
    public string Scheme { get; } = "";
    public string Authority { get; } = "";

    /// <summary>The request's header fields, pseudo-headers left out, in the order sent.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The first value of a field, or null.</summary>
    public string? Field(string name)
    {
        foreach (var (n, v) in Fields)
            if (n == name) return v;
        return null;
    }

    /// <summary>Fires when the peer resets the stream or the connection ends before the response does.</summary>
    public CancellationToken Aborted => _aborted.Token;

    public bool HeadersSent => _responseState >= 1;

    /// <summary>The whole request body once the peer ended the stream, or null when it was longer than the bound.</summary>
    public Task<RequestBody> ReadBodyAsync(CancellationToken ct) => _bodyComplete.Task.WaitAsync(ct);

    /// <summary>
    /// The response's headers; at most once, before any data. Without <paramref name="flush"/> they wait to go out with
    /// what follows them (the response's end flushes at the latest).
    /// </summary>
    public Task SendHeadersAsync(int status, IEnumerable<KeyValuePair<string, string>> fields, CancellationToken ct, bool flush = true)
    {
        if (Interlocked.CompareExchange(ref _responseState, 1, 0) != 0)
            throw new InvalidOperationException("the response headers were sent already");
        return Guarded(ct, token => _writer.WriteHeadersAsync(Id, FrameWriter.HeaderBlock(status, fields), endStream: false, token, flush));
    }

    /// <summary>Response body bytes, as DATA frames; the headers must have been sent.</summary>
    public Task SendDataAsync(ReadOnlyMemory<byte> data, CancellationToken ct, bool flush = true)
    {
        if (_responseState != 1) throw new InvalidOperationException(_responseState == 0 ? "the response headers were not sent" : "the response has ended");
        return Guarded(ct, token => _writer.WriteDataAsync(_send, data, endStream: false, token, flush));
    }

    /// <summary>
    /// Ends the response with trailers. Without headers sent before, the response is trailers-only: one HEADERS frame
    /// that carries <paramref name="status"/>, <paramref name="headerFields"/> and the trailers.
    /// </summary>
    public Task SendTrailersAsync(int status, IEnumerable<KeyValuePair<string, string>> headerFields, IEnumerable<KeyValuePair<string, string>> trailers,
        CancellationToken ct)
    {
        var state = Interlocked.Exchange(ref _responseState, 2);
        if (state == 2) throw new InvalidOperationException("the response has ended");
        var block = state == 0 ? FrameWriter.HeaderBlock(status, headerFields.Concat(trailers)) : FrameWriter.HeaderBlock(null, trailers);
        return Guarded(ct, token => _writer.WriteHeadersAsync(Id, block, endStream: true, token));
    }

    /// <summary>Whether the response has ended (trailers sent).</summary>
    public bool Ended => _responseState == 2;

    private async Task Guarded(CancellationToken ct, Func<CancellationToken, Task> write)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _aborted.Token);
        try
        {
            await write(linked.Token);
        }
        catch (IOException) when (_aborted.IsCancellationRequested)
        {
            throw new OperationCanceledException("the stream was reset or its connection ended", _aborted.Token);
        }
    }

    // The connection's side, on its read loop.

    internal StreamSendWindow SendWindow => _send;

    internal bool RemoteEnded { get; private set; }

    /// <summary>The request's content-length, which its body must match; null without one.</summary>
    internal long? ContentLength { get; }

    /// <summary>What the peer may still send on this stream, and what it sent since the last WINDOW_UPDATE.</summary>
    internal long ReceiveWindow { get; set; }

    internal int ReceivedSinceUpdate { get; set; }

    /// <summary>Request body bytes; beyond the bound they are counted out, not kept. Past the content-length, the request is malformed.</summary>
    internal void Receive(ReadOnlySpan<byte> data)
    {
        _bodyBytes += data.Length;
        if (_bodyBytes > ContentLength) throw RequestFields.BodyLength(Id, ContentLength.Value, _bodyBytes, ended: false);
        if (_bodyTooLarge) return;
        if (_body.Length + data.Length > _maxBodyBytes)
        {
            _bodyTooLarge = true;
            _body.SetLength(0);
            return;
        }
        _body.Write(data);
    }

    /// <summary>The request's end; a body shorter than its content-length makes it malformed.</summary>
    internal void EndRemote()
    {
        if (ContentLength is { } expected && _bodyBytes != expected) throw RequestFields.BodyLength(Id, expected, _bodyBytes, ended: true);
        RemoteEnded = true;
        _bodyComplete.TrySetResult(new RequestBody(_bodyTooLarge ? null : _body.ToArray()));
    }

    internal void Abort()
    {
        _bodyComplete.TrySetException(new OperationCanceledException("the stream was reset or its connection ended"));
        try { _aborted.Cancel(); } catch (ObjectDisposedException) { }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"stream {Id} {Method} {Path}");
}

/// <summary>A request body read whole: null <see cref="Bytes"/> when it was longer than the connection's bound.</summary>
public readonly record struct RequestBody(byte[]? Bytes)
{
    public bool TooLarge => Bytes is null;
}
