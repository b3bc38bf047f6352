using System.Text.Json.Nodes;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Otlp;

/// <summary>
/// OTLP/JSON as the spec and the file exporters write it: the protobuf JSON mapping (lowerCamelCase
/// names, 64-bit nanos as decimal strings, enums as integers) except that trace and span ids are
/// hex strings, not base64. One request per line is the OTLP file format readers expect.
/// </summary>
public static class OtlpJson
{
    private static readonly HashSet<string> IdFields = ["traceId", "spanId", "parentSpanId"];
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>One line of OTLP/JSON, without the line break.</summary>
    public static string Format(ExportTraceServiceRequest request)
    {
        var node = JsonNode.Parse(Formatter.Format(request))!;
        RewriteIds(node, b64 => Convert.ToHexStringLower(Convert.FromBase64String(b64)));
        return node.ToJsonString();
    }

    /// <summary>Reads a line written by <see cref="Format"/> (or by any OTLP file exporter) back.</summary>
    public static ExportTraceServiceRequest Parse(string line)
    {
        var node = JsonNode.Parse(line) ?? throw new FormatException("empty OTLP/JSON line");
        RewriteIds(node, hex => Convert.ToBase64String(Convert.FromHexString(hex)));
        return Parser.Parse<ExportTraceServiceRequest>(node.ToJsonString());
    }

    private static void RewriteIds(JsonNode node, Func<string, string> convert)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    var value = obj[key];
                    if (value is null) continue;
                    if (IdFields.Contains(key) && value is JsonValue v && v.TryGetValue<string>(out var text))
                        obj[key] = convert(text);
                    else
                        RewriteIds(value, convert);
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                    if (item is not null) RewriteIds(item, convert);
                break;
        }
    }
}
