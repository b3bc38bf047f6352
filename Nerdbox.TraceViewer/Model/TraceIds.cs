using System.Text.RegularExpressions;

namespace Nerdbox.TraceViewer.Model;

/// <summary>
/// Trace and span ids in one spelling: lower-case hex, zero-padded to 32 / 16 digits. Sources differ
/// (Jaeger may drop leading zeros, protobuf JSON writes base64, people type upper case), and ids are
/// only compared after going through here.
/// </summary>
public static partial class TraceIds
{
    [GeneratedRegex("^[0-9a-fA-F]{1,32}$")]
    private static partial Regex Hex();

    /// <summary>True when <paramref name="id"/> is something a user may ask for: 1 to 32 hex digits.</summary>
    public static bool IsValid(string? id) => id is not null && Hex().IsMatch(id);

    /// <summary>32 lower-case hex digits, or null when <paramref name="id"/> is neither hex nor base64 of 8 or 16 bytes.</summary>
    public static string? NormaliseTraceId(string id) => Normalise(id) is { Length: <= 32 } s ? s.PadLeft(32, '0') : null;

    /// <summary>16 lower-case hex digits, or null when <paramref name="id"/> is neither hex nor base64 of 8 bytes.</summary>
    public static string? NormaliseSpanId(string id) => Normalise(id) is { Length: <= 16 } s ? s.PadLeft(16, '0') : null;

    /// <summary>The same trace id, however it was spelt (a 64-bit id equals its zero-padded 128-bit form).</summary>
    public static bool SameTrace(string a, string b) =>
        NormaliseTraceId(a) is { } x && NormaliseTraceId(b) is { } y && x == y;

    private static string? Normalise(string id)
    {
        id = id.Trim();
        if (id.Length == 0) return null;
        if (Hex().IsMatch(id)) return id.ToLowerInvariant();
        // Protobuf's canonical JSON writes bytes as base64; OTLP JSON says hex. Accept both.
        var bytes = new byte[24];
        if (Convert.TryFromBase64String(id, bytes, out var n) && (n == 8 || n == 16))
            return Convert.ToHexStringLower(bytes.AsSpan(0, n));
        return null;
    }
}
