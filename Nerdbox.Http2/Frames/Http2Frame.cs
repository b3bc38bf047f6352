using System.Buffers.Binary;

namespace Nerdbox.Http2.Frames;

/// <summary>The frame types of RFC 9113 that this server handles; others are ignored, as the protocol asks.</summary>
internal enum FrameType : byte
{
    Data = 0x0,
    Headers = 0x1,
    Priority = 0x2,
    RstStream = 0x3,
    Settings = 0x4,
    PushPromise = 0x5,
    Ping = 0x6,
    GoAway = 0x7,
    WindowUpdate = 0x8,
    Continuation = 0x9,
}

/// <summary>Frame flags; each applies to the frame types RFC 9113 gives it.</summary>
internal static class FrameFlags
{
    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}

/// <summary>The error codes a RST_STREAM or GOAWAY carries.</summary>
public enum Http2ErrorCode : uint
{
    NoError = 0x0,
    ProtocolError = 0x1,
    InternalError = 0x2,
    FlowControlError = 0x3,
    SettingsTimeout = 0x4,
    StreamClosed = 0x5,
    FrameSizeError = 0x6,
    RefusedStream = 0x7,
    Cancel = 0x8,
    CompressionError = 0x9,
    ConnectError = 0xa,
    EnhanceYourCalm = 0xb,
    InadequateSecurity = 0xc,
    Http11Required = 0xd,
}

/// <summary>The nine bytes before every frame's payload.</summary>
internal readonly record struct FrameHeader(int Length, FrameType Type, byte Flags, int StreamId)
{
    public const int Size = 9;

    public bool Has(byte flag) => (Flags & flag) != 0;

    public static FrameHeader Read(ReadOnlySpan<byte> bytes) => new(
        bytes[0] << 16 | bytes[1] << 8 | bytes[2],
        (FrameType)bytes[3],
        bytes[4],
        (int)(BinaryPrimitives.ReadUInt32BigEndian(bytes[5..]) & 0x7FFF_FFFF)); // the reserved bit is ignored

    public void Write(Span<byte> bytes)
    {
        bytes[0] = (byte)(Length >> 16);
        bytes[1] = (byte)(Length >> 8);
        bytes[2] = (byte)Length;
        bytes[3] = (byte)Type;
        bytes[4] = Flags;
        BinaryPrimitives.WriteUInt32BigEndian(bytes[5..], (uint)StreamId);
    }
}

/// <summary>The setting identifiers of RFC 9113 section 6.5.2.</summary>
internal enum SettingId : ushort
{
    HeaderTableSize = 0x1,
    EnablePush = 0x2,
    MaxConcurrentStreams = 0x3,
    InitialWindowSize = 0x4,
    MaxFrameSize = 0x5,
    MaxHeaderListSize = 0x6,
}

/// <summary>The protocol's fixed numbers.</summary>
internal static class Http2Constants
{
    /// <summary>What every client sends first.</summary>
    public static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public const int DefaultWindow = 65_535;
    public const int MaxWindow = int.MaxValue;
    public const int DefaultMaxFrameSize = 16_384;
    public const int LargestMaxFrameSize = 16_777_215;
}
