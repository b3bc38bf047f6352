using System.Globalization;
using System.Text;

namespace Nerdbox.Telemetry.Settings;

/// <summary>
/// <c>OTEL_RESOURCE_ATTRIBUTES</c> as read: the attributes in the order given (a key given twice keeps
/// its last value) and the entries that could not be read, each as written.
/// </summary>
public sealed record ResourceAttributes(IReadOnlyList<KeyValuePair<string, string>> Attributes, IReadOnlyList<string> BadEntries)
{
    public static readonly ResourceAttributes Empty = new([], []);

    /// <summary>The value of <paramref name="key"/>, or null.</summary>
    public string? this[string key] => Attributes.LastOrDefault(a => a.Key == key) is { Key: not null } kv ? kv.Value : null;

    /// <summary>
    /// <c>key=value</c> pairs separated by commas; keys and values percent-decoded (UTF-8), surrounding
    /// whitespace trimmed, empty entries skipped. An entry without a key, without <c>=</c>, or with a broken
    /// escape is left out and reported; the others still apply, as the .NET SDK does for the host's resource.
    /// </summary>
    public static ResourceAttributes Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Empty;
        var attributes = new List<KeyValuePair<string, string>>();
        var bad = new List<string>();
        foreach (var raw in text.Split(','))
        {
            var entry = raw.Trim();
            if (entry.Length == 0) continue;
            var eq = entry.IndexOf('=');
            var rawKey = eq < 0 ? "" : entry[..eq].Trim();
            var key = rawKey.Any(char.IsWhiteSpace) ? null : PercentDecode(rawKey);
            var value = eq < 0 ? null : PercentDecode(entry[(eq + 1)..].Trim());
            if (string.IsNullOrEmpty(key) || value is null)
            {
                bad.Add(entry);
                continue;
            }
            attributes.RemoveAll(a => a.Key == key);
            attributes.Add(new(key, value));
        }
        return new ResourceAttributes(attributes, bad);
    }

    /// <summary>Decodes <c>%XX</c> escapes as UTF-8 (no <c>+</c> for space: this is baggage, not a form); null when an escape is broken.</summary>
    private static string? PercentDecode(string s)
    {
        if (!s.Contains('%')) return s;
        var bytes = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '%')
            {
                var n = char.IsHighSurrogate(s[i]) && i + 1 < s.Length ? 2 : 1;
                bytes.AddRange(Encoding.UTF8.GetBytes(s.Substring(i, n)));
                i += n - 1;
                continue;
            }
            if (i + 2 >= s.Length || !byte.TryParse(s.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
                return null;
            bytes.Add(b);
            i += 2;
        }
        return Encoding.UTF8.GetString(bytes.ToArray()); // invalid UTF-8 becomes U+FFFD, as W3C baggage asks
    }
}
