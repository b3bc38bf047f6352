using System.Text.Json;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// Reads Jaeger's v1 JSON: the query API's envelope <c>{"data": [trace, ...]}</c> or one bare trace
/// (<c>{"traceID", "spans", "processes"}</c>, as the UI saves it). Times are microseconds; the
/// service comes from the span's process; the parent is the CHILD_OF reference within the same trace.
/// Ids that are not hex are replaced by stable hashes (<see cref="TraceIds.Hashed"/>), keeping their spelling.
/// </summary>
internal static class JaegerJson
{
    public static List<SpanRecord> Read(string text, string origin) => Read(JsonDocuments.Parse(text, origin), text, origin);

    /// <summary>True when the documents look like Jaeger v1 JSON (a <c>data</c> array or a trace with <c>spans</c>).</summary>
    public static bool Recognises(IEnumerable<JsonElement> docs) =>
        docs.Any(d => d.Prop("data") is { ValueKind: JsonValueKind.Array } || d.Prop("spans") is { ValueKind: JsonValueKind.Array });

    public static List<SpanRecord> Read(List<JsonElement> docs, string text, string origin)
    {
        var spans = new List<SpanRecord>();
        foreach (var doc in docs)
        {
            if (doc.ValueKind != JsonValueKind.Object)
                throw new TraceViewerException($"{origin}: expected a JSON object, got {doc.ValueKind}: {JsonDocuments.Snippet(text)}");
            if (doc.Prop("errors") is { ValueKind: JsonValueKind.Array } errors && errors.GetArrayLength() > 0)
                throw new TraceViewerException($"{origin}: Jaeger reported: {string.Join("; ", errors.EnumerateArray().Select(e => e.Str("msg") ?? e.GetRawText()))}");
            if (doc.Prop("data") is { ValueKind: JsonValueKind.Array } data)
                foreach (var trace in data.EnumerateArray()) ReadTrace(trace, origin, spans);
            else if (doc.Prop("spans") is { ValueKind: JsonValueKind.Array })
                ReadTrace(doc, origin, spans);
            else
                throw new TraceViewerException($"{origin}: not a Jaeger trace response (no 'data' array and no 'spans'): {JsonDocuments.Snippet(text)}");
        }
        return spans;
    }

    private static void ReadTrace(JsonElement trace, string origin, List<SpanRecord> into)
    {
        // A process id given twice keeps its last value, as JSON readers generally do.
        var processes = new Dictionary<string, Dictionary<string, string>>();
        if (trace.Prop("processes") is { ValueKind: JsonValueKind.Object } p)
            foreach (var x in p.EnumerateObject()) processes[x.Name] = Process(x.Value);
        foreach (var span in trace.Array("spans"))
            into.Add(ReadSpan(span, processes, origin));
    }

    // A process as a resource: its tags, and its service under the name OTLP gives it.
    private static Dictionary<string, string> Process(JsonElement process)
    {
        var resource = Tags(process);
        resource["service.name"] = process.Str("serviceName") ?? "unknown_service";
        return resource;
    }

    private static SpanRecord ReadSpan(JsonElement span, Dictionary<string, Dictionary<string, string>> processes, string origin)
    {
        var name = span.Str("operationName") ?? "";
        var where = $"{origin}: span '{name}'";
        var traceRaw = span.Str("traceID") is { Length: > 0 } t ? t : throw new TraceViewerException($"{where} has no traceID");
        var spanRaw = span.Str("spanID") is { Length: > 0 } sp ? sp : throw new TraceViewerException($"{where} has no spanID");

        var tags = Tags(span);
        var traceId = Id(traceRaw, 16, TraceIds.OriginalTraceIdKey, tags);
        var spanId = Id(spanRaw, 8, TraceIds.OriginalSpanIdKey, tags);
        var parentId = Parent(span, traceId, tags);

        var resource = span.Str("processID") is { } pid && processes.TryGetValue(pid, out var known) ? known
            : span.Prop("process") is { } inline ? Process(inline) : null;
        var service = resource?.GetValueOrDefault("service.name") ?? "unknown_service";

        var startUs = span.Int64("startTime");
        var durationUs = span.Int64("duration") ?? 0;
        var hasTimes = startUs is > 0;
        var start = hasTimes ? startUs!.Value * 1000 : 0;

        var isError = tags.GetValueOrDefault("error") is "true" or "True" || tags.GetValueOrDefault("otel.status_code") == "ERROR";
        var message = tags.GetValueOrDefault("otel.status_description") ?? tags.GetValueOrDefault("error.message");
        return new SpanRecord(traceId, spanId, parentId, name, service,
            start, hasTimes ? start + Math.Max(0, durationUs) * 1000 : 0, hasTimes, isError, message, tags, resource);
    }

    private static Dictionary<string, string> Tags(JsonElement owner)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tag in owner.Array("tags"))
            if (tag.Str("key") is { } key)
                tags[key] = tag.Prop("value") is { } v ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText() : "";
        return tags;
    }

    // The parent is a CHILD_OF reference into the same trace; FOLLOWS_FROM only when there is no CHILD_OF.
    // References into other traces (links) are not parents here. Old Jaeger also had parentSpanID.
    private static string? Parent(JsonElement span, string traceId, Dictionary<string, string> tags)
    {
        var refs = span.Array("references")
            .Select(r => (Type: r.Str("refType") ?? "CHILD_OF", Trace: r.Str("traceID"), Span: r.Str("spanID")))
            .Where(r => r.Span is not null && (r.Trace is null || Id(r.Trace, 16) == traceId))
            .ToList();
        var pick = refs.FirstOrDefault(r => r.Type == "CHILD_OF").Span ?? refs.FirstOrDefault().Span ?? span.Str("parentSpanID");
        return pick is null or "" or "0" ? null : Id(pick, 8, TraceIds.OriginalParentIdKey, tags);
    }

    // Ids that are not hex (some Jaeger test traces use "trace-123", "span-1") are read, not refused: a hash
    // stands in, the same for every use of that spelling, and the spelling is kept under originalKey.
    private static string Id(string raw, int bytes, string originalKey, Dictionary<string, string> tags)
    {
        if (Normalise(raw, bytes) is { } hex) return hex;
        tags[originalKey] = raw;
        return TraceIds.Hashed(raw, bytes);
    }

    private static string Id(string raw, int bytes) => Normalise(raw, bytes) ?? TraceIds.Hashed(raw, bytes);

    private static string? Normalise(string raw, int bytes) => bytes == 16 ? TraceIds.NormaliseTraceId(raw) : TraceIds.NormaliseSpanId(raw);
}
