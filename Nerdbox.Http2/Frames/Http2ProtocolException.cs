namespace Nerdbox.Http2.Frames;

/// <summary>
/// A peer that broke the protocol: the whole connection ends with a GOAWAY carrying <see cref="Code"/> and the
/// message, or, when <see cref="StreamId"/> is set, only that stream is reset.
/// </summary>
public sealed class Http2ProtocolException(Http2ErrorCode code, string message, int? streamId = null) : Exception(message)
{
    public Http2ErrorCode Code { get; } = code;

    /// <summary>The stream to reset; null for an error of the connection.</summary>
    public int? StreamId { get; } = streamId;
}
