namespace Nerdbox.Http2.Hpack;

/// <summary>The predefined header fields of RFC 7541 Appendix A, addressed by index 1 to 61.</summary>
internal static class HpackStaticTable
{
    public const int Count = 61;

    private static readonly KeyValuePair<string, string>[] Entries =
    [
        new(":authority", ""),
        new(":method", "GET"),
        new(":method", "POST"),
        new(":path", "/"),
        new(":path", "/index.html"),
        new(":scheme", "http"),
        new(":scheme", "https"),
        new(":status", "200"),
        new(":status", "204"),
        new(":status", "206"),
        new(":status", "304"),
        new(":status", "400"),
        new(":status", "404"),
        new(":status", "500"),
        new("accept-charset", ""),
        new("accept-encoding", "gzip, deflate"),
        new("accept-language", ""),
        new("accept-ranges", ""),
        new("accept", ""),
        new("access-control-allow-origin", ""),
        new("age", ""),
        new("allow", ""),
        new("authorization", ""),
        new("cache-control", ""),
        new("content-disposition", ""),
        new("content-encoding", ""),
        new("content-language", ""),
        new("content-length", ""),
        new("content-location", ""),
        new("content-range", ""),
        new("content-type", ""),
        new("cookie", ""),
        new("date", ""),
        new("etag", ""),
        new("expect", ""),
        new("expires", ""),
        new("from", ""),
        new("host", ""),
        new("if-match", ""),
        new("if-modified-since", ""),
        new("if-none-match", ""),
        new("if-range", ""),
        new("if-unmodified-since", ""),
        new("last-modified", ""),
        new("link", ""),
        new("location", ""),
        new("max-forwards", ""),
        new("proxy-authenticate", ""),
        new("proxy-authorization", ""),
        new("range", ""),
        new("referer", ""),
        new("refresh", ""),
        new("retry-after", ""),
        new("server", ""),
        new("set-cookie", ""),
        new("strict-transport-security", ""),
        new("transfer-encoding", ""),
        new("user-agent", ""),
        new("vary", ""),
        new("via", ""),
        new("www-authenticate", ""),
    ];

    // Several names repeat (":method", ":status", ...); the encoder only needs one index per name.
    private static readonly Dictionary<string, int> FirstIndexByName = BuildNameIndex();

    /// <summary>The entry at <paramref name="index"/>, which must be from 1 to <see cref="Count"/>.</summary>
    public static KeyValuePair<string, string> Get(int index) => Entries[index - 1];

    /// <summary>The lowest index whose name is <paramref name="name"/>, or 0 when the table has no such name.</summary>
    public static int IndexOfName(string name) => FirstIndexByName.GetValueOrDefault(name);

    private static Dictionary<string, int> BuildNameIndex()
    {
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Entries.Length; i++)
            byName.TryAdd(Entries[i].Key, i + 1);
        return byName;
    }
}
