namespace Nerdbox.Http2.Frames;

/// <summary>
/// Reads frames through one buffer: a read takes whatever the transport has (often several frames), so a frame
/// costs no read call of its own. A frame's payload is valid until the next read.
/// </summary>
internal sealed class FrameReader(Stream transport)
{
    private readonly byte[] _buffer = new byte[4 * Http2Constants.DefaultMaxFrameSize];
    private int _start;
    private int _end;

    /// <summary>The next <paramref name="count"/> bytes; false when the transport ended before the first of them.</summary>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadAsync(int count, CancellationToken ct)
    {
        if (count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count), $"{count} bytes is more than the read buffer holds");
        if (_buffer.Length - _start < count)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        while (_end - _start < count)
        {
            var n = await transport.ReadAsync(_buffer.AsMemory(_end), ct);
            if (n == 0)
            {
                if (_end == _start) return null;
                throw new EndOfStreamException($"the connection ended in the middle of a frame ({_end - _start} of {count} bytes)");
            }
            _end += n;
        }
        var read = _buffer.AsMemory(_start, count);
        _start += count;
        return read;
    }

    /// <summary>The next frame (its payload bounded by <paramref name="maxPayload"/>), or null when the transport ended between frames.</summary>
    public async ValueTask<(FrameHeader Header, ReadOnlyMemory<byte> Payload)?> ReadFrameAsync(int maxPayload, CancellationToken ct)
    {
        if (await ReadAsync(FrameHeader.Size, ct) is not { } headerBytes) return null;
        var header = FrameHeader.Read(headerBytes.Span);
        if (header.Length > maxPayload)
            throw new Http2ProtocolException(Http2ErrorCode.FrameSizeError,
                $"a {header.Type} frame of {header.Length} bytes is larger than the {maxPayload} this server takes");
        if (header.Length == 0) return (header, ReadOnlyMemory<byte>.Empty);
        var payload = await ReadAsync(header.Length, ct) ?? throw new EndOfStreamException("the connection ended after a frame's header");
        return (header, payload);
    }
}
