using System.Text.Json;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// Reads OTLP JSON (TracesData / ExportTraceServiceRequest: <c>{"resourceSpans": [...]}</c>) into spans.
/// Also unwraps the envelopes backends put around it: Jaeger v3's <c>{"result": ...}</c> and the
/// Aspire dashboard's <c>{"data": ...}</c>. Tolerates what protobuf's own JSON writer produces
/// (base64 ids, enum names, snake_case) so a file written by any OTLP tool reads.
/// </summary>
internal static class OtlpJson
{
    public static List<SpanRecord> Read(string text, string origin) => Read(JsonDocuments.Parse(text, origin), text, origin);

    /// <summary>True when some document holds <c>resourceSpans</c>, wrapped or not.</summary>
    public static bool Recognises(IEnumerable<JsonElement> docs) => docs.Any(d => Unwrap(d) is not null);

    public static List<SpanRecord> Read(List<JsonElement> docs, string text, string origin)
    {
        var spans = new List<SpanRecord>();
        var sawResourceSpans = false;
        foreach (var doc in docs)
        {
            if (doc.Prop("error") is { } err)
                throw new TraceViewerException($"{origin}: the server answered with an error: {err.Str("message") ?? err.GetRawText()}");
            var body = Unwrap(doc);
            if (body is null) continue;
            sawResourceSpans = true;
            ReadResourceSpans(body.Value, origin, spans);
        }
        if (!sawResourceSpans)
            throw new TraceViewerException($"{origin}: no 'resourceSpans' found; expected OTLP JSON like {{\"resourceSpans\": [...]}} (optionally under \"result\" or \"data\"): {JsonDocuments.Snippet(text)}");
        return spans;
    }

    private static JsonElement? Unwrap(JsonElement doc)
    {
        for (var e = doc; e.ValueKind == JsonValueKind.Object;)
        {
            if (e.Prop("resourceSpans") is { ValueKind: JsonValueKind.Array } rs) return rs;
            if (e.Prop("resource_spans") is { ValueKind: JsonValueKind.Array } rs2) return rs2;
            if (e.Prop("result") is { } result) e = result;
            else if (e.Prop("data") is { ValueKind: JsonValueKind.Object } data) e = data;
            else return null;
        }
        return null;
    }

    private static void ReadResourceSpans(JsonElement array, string origin, List<SpanRecord> into)
    {
        foreach (var rs in array.EnumerateArray())
        {
            var resource = rs.Prop("resource");
            var resourceAttrs = resource is { } r ? Attributes(r) : new Dictionary<string, string>();
            var service = resourceAttrs.GetValueOrDefault("service.name") is { Length: > 0 } s ? s : "unknown_service";
            foreach (var ss in rs.Array("scopeSpans").Concat(rs.Array("scope_spans")).Concat(rs.Array("instrumentationLibrarySpans")))
                foreach (var span in ss.Array("spans"))
                    into.Add(ReadSpan(span, service, origin));
        }
    }

    private static SpanRecord ReadSpan(JsonElement span, string service, string origin)
    {
        var name = span.Str("name") ?? "";
        var where = $"{origin}: span '{name}'";
        var traceId = Id(span, "traceId", "trace_id", where, TraceIds.NormaliseTraceId);
        var spanId = Id(span, "spanId", "span_id", where, TraceIds.NormaliseSpanId);
        var parentRaw = span.Str("parentSpanId") ?? span.Str("parent_span_id");
        string? parentId = null;
        if (!string.IsNullOrEmpty(parentRaw))
            parentId = TraceIds.NormaliseSpanId(parentRaw) ?? throw new TraceViewerException($"{where}: parentSpanId '{parentRaw}' is not a span id (16 hex digits)");

        var start = span.Int64("startTimeUnixNano") ?? span.Int64("start_time_unix_nano");
        var end = span.Int64("endTimeUnixNano") ?? span.Int64("end_time_unix_nano");
        var hasTimes = start is > 0;
        var status = span.Prop("status");
        var code = status?.Prop("code");
        var isError = code is { ValueKind: JsonValueKind.Number } n ? n.GetInt32() == 2
            : code is { ValueKind: JsonValueKind.String } t && t.GetString() is "STATUS_CODE_ERROR" or "ERROR" or "2";
        return new SpanRecord(traceId, spanId, parentId, name, service,
            hasTimes ? start!.Value : 0, hasTimes ? Math.Max(start!.Value, end ?? start.Value) : 0, hasTimes,
            isError, status?.Str("message") is { Length: > 0 } m ? m : null, Attributes(span));
    }

    private static string Id(JsonElement span, string name, string snake, string where, Func<string, string?> normalise)
    {
        var raw = span.Str(name) ?? span.Str(snake);
        if (string.IsNullOrEmpty(raw)) throw new TraceViewerException($"{where} has no {name}");
        return normalise(raw) ?? throw new TraceViewerException($"{where}: {name} '{raw}' is neither hex nor base64 of the right length");
    }

    public static Dictionary<string, string> Attributes(JsonElement owner)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in owner.Array("attributes"))
            if (kv.Str("key") is { } key)
                d[key] = kv.Prop("value") is { } v ? AnyValue(v) : "";
        return d;
    }

    private static string AnyValue(JsonElement v)
    {
        if (v.Prop("stringValue") is { } s) return s.ValueKind == JsonValueKind.String ? s.GetString()! : s.GetRawText();
        if (v.Prop("boolValue") is { } b) return b.ValueKind == JsonValueKind.True ? "true" : b.ValueKind == JsonValueKind.False ? "false" : b.ToString();
        if (v.Prop("intValue") is { } i) return i.ValueKind == JsonValueKind.String ? i.GetString()! : i.GetRawText();
        if (v.Prop("doubleValue") is { } d) return d.ValueKind == JsonValueKind.String ? d.GetString()! : d.GetRawText();
        if (v.Prop("bytesValue") is { } by) return by.GetString() ?? "";
        if (v.Prop("arrayValue") is { } a) return "[" + string.Join(", ", a.Array("values").Select(AnyValue)) + "]";
        if (v.Prop("kvlistValue") is { } kvl) return "{" + string.Join(", ", kvl.Array("values").Select(kv => $"{kv.Str("key")}={(kv.Prop("value") is { } x ? AnyValue(x) : "")}")) + "}";
        return "";
    }
}
