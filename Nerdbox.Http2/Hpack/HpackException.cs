namespace Nerdbox.Http2.Hpack;

/// <summary>
/// A header block that cannot be decoded. HPACK state is shared by the whole connection, so the caller
/// treats this as a connection error (COMPRESSION_ERROR) rather than a stream error.
/// </summary>
public sealed class HpackException(string message) : Exception(message);
