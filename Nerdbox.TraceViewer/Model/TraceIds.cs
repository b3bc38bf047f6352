using Nerdbox.Api.Otlp;
using System.Security.Cryptography;
using System.Text;
using Nerdbox.Telemetry.Otlp;

namespace Nerdbox.TraceViewer.Model;

/// <summary>
/// Trace and span ids in one spelling: lower-case hex, zero-padded to 32 / 16 digits. Sources differ
/// (Jaeger may drop leading zeros, protobuf JSON writes base64, people type upper case), and ids are
/// only compared after going through here.
/// </summary>
public static class TraceIds
{
    /// <summary>True when <paramref name="id"/> is something a user may ask for: 1 to 32 hex digits.</summary>
    public static bool IsValid(string? id) => OtlpIds.IsHex(id);

    /// <summary>32 lower-case hex digits, or null when <paramref name="id"/> is neither hex nor base64 of 8 or 16 bytes.</summary>
    public static string? NormaliseTraceId(string id) => OtlpIds.ToHex(id, 16);

    /// <summary>16 lower-case hex digits, or null when <paramref name="id"/> is neither hex nor base64 of 8 bytes.</summary>
    public static string? NormaliseSpanId(string id) => OtlpIds.ToHex(id, 8);

    /// <summary>Where a span keeps its trace id as the source spelt it, when that was not an id (see <see cref="Hashed"/>).</summary>
    public const string OriginalTraceIdKey = "nerdbox.original_trace_id";

    /// <summary>Likewise for the span's own id.</summary>
    public const string OriginalSpanIdKey = "nerdbox.original_span_id";

    /// <summary>Likewise for its parent's id.</summary>
    public const string OriginalParentIdKey = "nerdbox.original_parent_id";

    /// <summary>
    /// A stable stand-in of <paramref name="bytes"/> bytes (lower-case hex) for an id that is not hex, such as
    /// the <c>trace-123</c> and <c>span-1</c> of some Jaeger test traces: the start of its SHA-256, so the same
    /// spelling always maps to the same id and a parent reference still finds its span.
    /// </summary>
    public static string Hashed(string raw, int bytes) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)).AsSpan(0, bytes));

    /// <summary>The same trace id, however it was spelt (a 64-bit id equals its zero-padded 128-bit form).</summary>
    public static bool SameTrace(string a, string b) =>
        NormaliseTraceId(a) is { } x && NormaliseTraceId(b) is { } y && x == y;
}
