using System.Text.RegularExpressions;

namespace Nerdbox.Api.Otlp;

/// <summary>
/// Trace and span ids as OTLP JSON spells them (hex) and as protobuf's own JSON does (base64),
/// and as backends relax them (upper case, leading zeros dropped). One reading for both.
/// </summary>
public static partial class OtlpIds
{
    [GeneratedRegex("^[0-9a-fA-F]{1,32}$")]
    private static partial Regex Hex();

    /// <summary>True when <paramref name="id"/> is 1 to 32 hex digits.</summary>
    public static bool IsHex(string? id) => id is not null && Hex().IsMatch(id);

    /// <summary>
    /// <paramref name="id"/> as <paramref name="bytes"/> bytes of lower-case hex, zero-padded, or null
    /// when it is neither hex of at most that length nor base64 of 8 or 16 bytes that fit.
    /// </summary>
    public static string? ToHex(string id, int bytes)
    {
        id = id.Trim();
        if (id.Length == 0) return null;
        string? hex = null;
        if (Hex().IsMatch(id)) hex = id.ToLowerInvariant();
        else
        {
            var buffer = new byte[24];
            if (Convert.TryFromBase64String(id, buffer, out var n) && (n == 8 || n == 16))
                hex = Convert.ToHexStringLower(buffer.AsSpan(0, n));
        }
        return hex is { Length: var l } && l <= bytes * 2 ? hex.PadLeft(bytes * 2, '0') : null;
    }
}
