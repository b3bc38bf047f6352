namespace Nerdbox.Http2;

/// <summary>The bounds a connection holds its peer to.</summary>
public sealed record Http2ServerOptions
{
    /// <summary>A request body longer than this is not kept: its stream reads as too large.</summary>
    public required int MaxRequestBodyBytes { get; init; }

    /// <summary>Streams open at once; more are refused (RST_STREAM REFUSED_STREAM) and may be retried.</summary>
    public int MaxConcurrentStreams { get; init; } = 100;

    /// <summary>The decoded size of one header block (RFC 9113's SETTINGS_MAX_HEADER_LIST_SIZE reckoning).</summary>
    public int MaxHeaderListBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Each stream's receive window, and the connection's. Request bodies are read whole under their own bound, so
    /// the windows only need to be wide enough that a body does not wait for WINDOW_UPDATEs.
    /// </summary>
    public int ReceiveWindow { get; init; } = 1 << 20;

    /// <summary>The HPACK dynamic table the peer may use for its header blocks.</summary>
    public int HeaderTableSize { get; init; } = 4096;
}
