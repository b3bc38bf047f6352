using Nerdbox.Api.Otlp;
using System.Text.Json;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// Finds OTLP JSON (TracesData / ExportTraceServiceRequest: <c>{"resourceSpans": [...]}</c>) in an
/// answer or file, inside the envelopes backends put around it (Jaeger v3's <c>{"result": ...}</c>, the
/// Aspire dashboard's <c>{"data": ...}</c>), and reads it with the OTLP JSON codec.
/// </summary>
internal static class OtlpEnvelope
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
            try
            {
                spans.AddRange(OtlpProto.Read(OtlpJson.ReadResourceSpans(body.Value), origin));
            }
            catch (OtlpJsonException e)
            {
                throw new TraceViewerException($"{origin}: {e.Message}", e);
            }
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
}
