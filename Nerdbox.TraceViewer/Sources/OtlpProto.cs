using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>Reads OTLP protobuf objects (what the sinks are handed) into spans.</summary>
internal static class OtlpProto
{
    public static List<SpanRecord> Read(IEnumerable<ResourceSpans> batches, string origin)
    {
        var spans = new List<SpanRecord>();
        foreach (var rs in batches)
        {
            var service = rs.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue is { Length: > 0 } s ? s : "unknown_service";
            var resource = Attributes(rs.Resource?.Attributes ?? []);
            foreach (var ss in rs.ScopeSpans)
                foreach (var span in ss.Spans)
                {
                    var where = $"{origin}: span '{span.Name}'";
                    if (span.TraceId.Length != 16) throw new TraceViewerException($"{where}: trace id has {span.TraceId.Length} bytes, not 16");
                    if (span.SpanId.Length != 8) throw new TraceViewerException($"{where}: span id has {span.SpanId.Length} bytes, not 8");
                    var start = (long)Math.Min(span.StartTimeUnixNano, long.MaxValue);
                    var end = (long)Math.Min(span.EndTimeUnixNano, long.MaxValue);
                    var hasTimes = start > 0;
                    spans.Add(new SpanRecord(
                        Hex(span.TraceId), Hex(span.SpanId), span.ParentSpanId.Length == 8 ? Hex(span.ParentSpanId) : null,
                        span.Name, service, hasTimes ? start : 0, hasTimes ? Math.Max(start, end) : 0, hasTimes,
                        span.Status?.Code == Status.Types.StatusCode.Error, span.Status?.Message is { Length: > 0 } m ? m : null,
                        Attributes(span.Attributes), resource));
                }
        }
        return spans;
    }

    // A repeated key keeps its last value, as the SDKs do.
    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue> attributes)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in attributes) map[a.Key] = Text(a.Value);
        return map;
    }

    private static string Hex(ByteString b) => Convert.ToHexStringLower(b.Span);

    private static string Text(AnyValue? v) => v?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => v.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BytesValue => v.BytesValue.ToBase64(),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", v.ArrayValue.Values.Select(Text)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", v.KvlistValue.Values.Select(kv => $"{kv.Key}={Text(kv.Value)}")) + "}",
        _ => "",
    };
}
