using Nerdbox.Http2.Frames;

namespace Nerdbox.Http2;

/// <summary>
/// A request's header block checked as RFC 9113 section 8.2 and 8.3 ask (a malformed request resets its stream):
/// lowercase names, the pseudo-headers first, known and once each, the three a request needs, and no
/// connection-specific fields.
/// </summary>
internal static class RequestFields
{
    private static readonly HashSet<string> Pseudo = [":method", ":scheme", ":path", ":authority"];
    private static readonly HashSet<string> ConnectionSpecific = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

    public static (List<KeyValuePair<string, string>> Pseudo, List<KeyValuePair<string, string>> Regular) Split(int streamId,
        List<KeyValuePair<string, string>> fields)
    {
        List<KeyValuePair<string, string>> pseudo = [], regular = [];
        foreach (var field in fields)
        {
            var name = field.Key;
            if (name.Length == 0) throw Malformed(streamId, "a field with an empty name");
            foreach (var c in name)
                if (c is >= 'A' and <= 'Z') throw Malformed(streamId, $"the field name '{Cut(name)}' is not lowercase");
            if (name[0] == ':')
            {
                if (regular.Count > 0) throw Malformed(streamId, $"the pseudo-header {Cut(name)} comes after a regular field");
                if (!Pseudo.Contains(name)) throw Malformed(streamId, $"unknown pseudo-header {Cut(name)}");
                if (pseudo.Any(p => p.Key == name)) throw Malformed(streamId, $"the pseudo-header {name} comes twice");
                pseudo.Add(field);
                continue;
            }
            if (ConnectionSpecific.Contains(name)) throw Malformed(streamId, $"the connection-specific field '{name}'");
            if (name == "te" && field.Value != "trailers") throw Malformed(streamId, $"te: '{Cut(field.Value)}' (only 'trailers' is allowed)");
            regular.Add(field);
        }
        foreach (var required in new[] { ":method", ":scheme", ":path" })
        {
            var value = pseudo.FirstOrDefault(p => p.Key == required).Value;
            if (string.IsNullOrEmpty(value)) throw Malformed(streamId, $"no {required}");
        }
        return (pseudo, regular);
    }

    /// <summary>
    /// The request's content-length, or null without one. The body must then be exactly that long (RFC 9113 section
    /// 8.1.1); a value that is not one whole number is malformed.
    /// </summary>
    public static long? ContentLength(int streamId, List<KeyValuePair<string, string>> regular)
    {
        long? length = null;
        foreach (var (name, value) in regular)
        {
            if (name != "content-length") continue;
            if (length is not null) throw Malformed(streamId, "content-length comes twice");
            if (value.Length is 0 or > 18 || !value.All(char.IsAsciiDigit)) throw Malformed(streamId, $"content-length '{Cut(value)}' is not a whole number");
            length = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return length;
    }

    /// <summary>The stream's error when its body has come to <paramref name="received"/> bytes against its content-length.</summary>
    public static Http2ProtocolException BodyLength(int streamId, long expected, long received, bool ended) =>
        Malformed(streamId, ended ? $"a body of {received} bytes against a content-length of {expected}" : $"a body past its content-length of {expected}");

    private static Http2ProtocolException Malformed(int streamId, string what) =>
        new(Http2ErrorCode.ProtocolError, $"malformed request on stream {streamId}: {what}", streamId);

    private static string Cut(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
