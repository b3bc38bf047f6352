namespace Nerdbox.GuestAgent;

/// <summary>
/// What a peer sent (the host, or a workload), quoted back in an error or a count's reason: cut to a bound, since no
/// peer is trusted to send short text, with a mark where it was cut.
/// </summary>
internal static class QuotedText
{
    /// <summary>Names and header values: a content type, a span's name.</summary>
    public const int Short = 64;

    /// <summary>A request's path or a header the host's gRPC client sends.</summary>
    public const int Long = 200;

    public static string Cut(string text, int max = Short) => text.Length > max ? text[..max] + "…" : text;
}
