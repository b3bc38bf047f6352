using System.Buffers;
using System.Text;

namespace Nerdbox.Http2.Hpack;

/// <summary>
/// Writes header fields as HPACK literals without indexing and without Huffman coding. Never touching the
/// dynamic table keeps the encoder stateless, so whatever SETTINGS_HEADER_TABLE_SIZE the peer sends is moot;
/// responses here are a handful of short fields, so compression would save little.
/// </summary>
internal static class HpackEncoder
{
    // ":status: 200" in the static table; its name also serves every other status.
    private const int StatusIndex = 8;

    /// <summary>
    /// Writes one field. <paramref name="name"/> must already be lowercase; a name found in the static table
    /// is sent as its index.
    /// </summary>
    public static void Encode(string name, string value, IBufferWriter<byte> output)
    {
        RequireLatin1(name, nameof(name));
        RequireLatin1(value, nameof(value));
        var nameIndex = HpackStaticTable.IndexOfName(name);
        var length = IntegerLength(nameIndex, 4) + (nameIndex == 0 ? StringLength(name) : 0) + StringLength(value);
        var span = output.GetSpan(length);
        // 0000 in the high bits: literal header field without indexing (RFC 7541 section 6.2.2).
        var written = WriteInteger(span, 0x00, nameIndex, 4);
        if (nameIndex == 0)
            written += WriteString(span[written..], name);
        written += WriteString(span[written..], value);
        output.Advance(written);
    }

    /// <summary>Writes the <c>:status</c> pseudo-header, which must come before any other response field.</summary>
    public static void EncodeStatus(int status, IBufferWriter<byte> output)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 999);
        if (status == 200)
        {
            // Indexed header field (RFC 7541 section 6.1): the whole field in one byte.
            output.GetSpan(1)[0] = 0x80 | StatusIndex;
            output.Advance(1);
            return;
        }
        Span<byte> field = [StatusIndex, 3, (byte)('0' + status / 100), (byte)('0' + status / 10 % 10), (byte)('0' + status % 10)];
        output.Write(field);
    }

    private static void RequireLatin1(string text, string paramName)
    {
        // Field octets are carried as Latin-1, which cannot hold anything above U+00FF.
        if (text.AsSpan().ContainsAnyExceptInRange('\0', '\u00ff'))
            throw new ArgumentException("a header field holds a character above U+00FF", paramName);
    }

    private static int StringLength(string text) => IntegerLength(text.Length, 7) + text.Length;

    // The H bit stays 0: the octets are sent as they are.
    private static int WriteString(Span<byte> destination, string text)
    {
        var written = WriteInteger(destination, 0x00, text.Length, 7);
        return written + Encoding.Latin1.GetBytes(text, destination[written..]);
    }

    private static int IntegerLength(int value, int prefixBits)
    {
        var prefixMax = (1 << prefixBits) - 1;
        if (value < prefixMax)
            return 1;
        var length = 2;
        for (value -= prefixMax; value >= 0x80; value >>= 7)
            length++;
        return length;
    }

    // RFC 7541 section 5.1: the value in the prefix if it fits, otherwise 7 bits per byte, low groups first.
    private static int WriteInteger(Span<byte> destination, byte flags, int value, int prefixBits)
    {
        var prefixMax = (1 << prefixBits) - 1;
        if (value < prefixMax)
        {
            destination[0] = (byte)(flags | value);
            return 1;
        }
        destination[0] = (byte)(flags | prefixMax);
        var written = 1;
        for (value -= prefixMax; value >= 0x80; value >>= 7)
            destination[written++] = (byte)(value & 0x7f | 0x80);
        destination[written++] = (byte)value;
        return written;
    }
}
