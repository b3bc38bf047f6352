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

    /// <summary>The same trace id, however it was spelt (a 64-bit id equals its zero-padded 128-bit form).</summary>
    public static bool SameTrace(string a, string b) =>
        NormaliseTraceId(a) is { } x && NormaliseTraceId(b) is { } y && x == y;
}
