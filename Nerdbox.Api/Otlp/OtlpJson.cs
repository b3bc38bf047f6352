using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Api.Otlp;

/// <summary>
/// OTLP/JSON, both ways. Written as the spec and the file exporters write it: the protobuf JSON
/// mapping (lowerCamelCase names, 64-bit nanos as decimal strings, enums as integers) except that
/// trace and span ids are hex strings, not base64; one request per line is the OTLP file format.
/// Read leniently, as other tools write it: hex or base64 ids (short hex is zero-padded), snake_case
/// names, enum names, the pre-1.0 <c>instrumentationLibrarySpans</c>. A span whose ids cannot be
/// read is an <see cref="OtlpJsonException"/> naming the span and the field. Export request bodies
/// (traces and logs) as an OTLP/HTTP client sends them are read the same way; no reflection-based
/// serialisation, so the NativeAOT guest reads them too.
/// </summary>
public static class OtlpJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    /// <summary>One line of OTLP/JSON, without the line break.</summary>
    public static string Format(ExportTraceServiceRequest request)
    {
        var node = JsonNode.Parse(Formatter.Format(request))!;
        foreach (var span in Spans(node))
            foreach (var field in new[] { "traceId", "spanId", "parentSpanId" })
                if (span[field] is JsonValue v && v.TryGetValue<string>(out var b64))
                    span[field] = Convert.ToHexStringLower(Convert.FromBase64String(b64));
        return node.ToJsonString();
    }

    /// <summary>Reads a line written by <see cref="Format"/>, or by any OTLP file exporter, back.</summary>
    public static ExportTraceServiceRequest Parse(string line)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line, documentOptions: Strict);
        }
        catch (JsonException e)
        {
            throw new OtlpJsonException($"not valid JSON: {e.Message}", e);
        }
        var array = node?["resourceSpans"] ?? node?["resource_spans"] ?? throw new OtlpJsonException("no 'resourceSpans' in the OTLP/JSON line");
        return new ExportTraceServiceRequest { ResourceSpans = { ReadResourceSpans(array) } };
    }

    /// <summary>An OTLP/HTTP JSON trace export body (UTF-8); one without <c>resourceSpans</c> is an empty export.</summary>
    public static ExportTraceServiceRequest ParseTraceExport(ReadOnlySpan<byte> utf8)
    {
        var body = ParseObject(utf8);
        var array = body["resourceSpans"] ?? body["resource_spans"];
        return array is null ? new ExportTraceServiceRequest() : new ExportTraceServiceRequest { ResourceSpans = { ReadResourceSpans(array) } };
    }

    /// <summary>An OTLP/HTTP JSON logs export body (UTF-8); one without <c>resourceLogs</c> is an empty export.</summary>
    public static ExportLogsServiceRequest ParseLogsExport(ReadOnlySpan<byte> utf8)
    {
        var body = ParseObject(utf8);
        var array = body["resourceLogs"] ?? body["resource_logs"];
        if (array is null) return new ExportLogsServiceRequest();
        if (array is not JsonArray items) throw new OtlpJsonException("'resourceLogs' is not an array");
        foreach (var rl in items.OfType<JsonObject>()) NormaliseLogs(rl);
        try
        {
            return new ExportLogsServiceRequest { ResourceLogs = { Parser.Parse<LogsData>(new JsonObject { ["resourceLogs"] = items.DeepClone() }.ToJsonString()).ResourceLogs } };
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OtlpJsonException($"not OTLP log data: {e.Message}", e);
        }
    }

    private static JsonObject ParseObject(ReadOnlySpan<byte> utf8)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(utf8, documentOptions: Strict);
        }
        catch (JsonException e)
        {
            throw new OtlpJsonException($"not valid JSON: {e.Message}", e);
        }
        return node as JsonObject ?? throw new OtlpJsonException("an OTLP/JSON export body is a JSON object");
    }

    /// <summary>Reads the value of a <c>resourceSpans</c> array (a JSON array of ResourceSpans).</summary>
    public static IReadOnlyList<ResourceSpans> ReadResourceSpans(JsonElement array)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(array.GetRawText(), documentOptions: Strict);
        }
        catch (JsonException e)
        {
            throw new OtlpJsonException($"not valid OTLP/JSON: {e.Message}", e);
        }
        return ReadResourceSpans(node ?? new JsonArray());
    }

    /// <summary>A key given twice (two span ids, say) is an error, not a silent choice of one of the values.</summary>
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    private static IReadOnlyList<ResourceSpans> ReadResourceSpans(JsonNode array)
    {
        if (array is not JsonArray items) throw new OtlpJsonException("'resourceSpans' is not an array");
        var copy = items.DeepClone().AsArray();
        foreach (var rs in copy.OfType<JsonObject>()) Normalise(rs);
        try
        {
            return Parser.Parse<TracesData>(new JsonObject { ["resourceSpans"] = copy }.ToJsonString()).ResourceSpans;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OtlpJsonException($"not OTLP trace data: {e.Message}", e);
        }
    }

    /// <summary>Rewrites what other writers spell differently into what protobuf's parser reads.</summary>
    private static void Normalise(JsonObject resourceSpans)
    {
        Exact64BitNumbers(resourceSpans);
        Rename(resourceSpans, "instrumentationLibrarySpans", "scopeSpans");
        foreach (var scope in Items(resourceSpans, "scopeSpans").Concat(Items(resourceSpans, "scope_spans")))
        {
            Rename(scope, "instrumentationLibrary", "scope");
            foreach (var span in Items(scope, "spans"))
            {
                var name = span["name"] is JsonValue n && n.TryGetValue<string>(out var s) ? s : "";
                var where = $"span '{name}'";
                Id(span, "traceId", "trace_id", 16, where, required: true);
                Id(span, "spanId", "span_id", 8, where, required: true);
                Id(span, "parentSpanId", "parent_span_id", 8, where, required: false);
                if (span["status"] is JsonObject status && status["code"] is JsonValue code && code.TryGetValue<string>(out var text))
                    status["code"] = text switch
                    {
                        "ERROR" or "STATUS_CODE_ERROR" or "2" => 2,
                        "OK" or "STATUS_CODE_OK" or "1" => 1,
                        _ => 0,
                    };
                foreach (var link in Items(span, "links"))
                {
                    Id(link, "traceId", "trace_id", 16, where + " link", required: false);
                    Id(link, "spanId", "span_id", 8, where + " link", required: false);
                }
            }
        }
    }

    /// <summary>The log records' ids and 64-bit numbers, as <see cref="Normalise"/> does for spans.</summary>
    private static void NormaliseLogs(JsonObject resourceLogs)
    {
        Exact64BitNumbers(resourceLogs);
        foreach (var scope in Items(resourceLogs, "scopeLogs").Concat(Items(resourceLogs, "scope_logs")))
            foreach (var record in Items(scope, "logRecords").Concat(Items(scope, "log_records")))
            {
                Id(record, "traceId", "trace_id", 16, "log record", required: false);
                Id(record, "spanId", "span_id", 8, "log record", required: false);
            }
    }

    /// <summary>Checks an id field and rewrites it as base64, the form protobuf's parser takes.</summary>
    private static void Id(JsonObject owner, string name, string snake, int bytes, string where, bool required)
    {
        var key = owner.ContainsKey(name) ? name : owner.ContainsKey(snake) ? snake : null;
        var raw = key is not null && owner[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        if (string.IsNullOrEmpty(raw))
        {
            if (required) throw new OtlpJsonException($"{where} has no {name}");
            if (key is not null) owner.Remove(key);
            return;
        }
        var hex = OtlpIds.ToHex(raw, bytes) ?? throw new OtlpJsonException(required
            ? $"{where}: {name} '{raw}' is neither hex nor base64 of the right length"
            : $"{where}: {name} '{raw}' is not a span id (16 hex digits)");
        owner.Remove(key!);
        owner[name] = Convert.ToBase64String(Convert.FromHexString(hex));
    }

    /// <summary>
    /// 64-bit integers written as JSON numbers become decimal strings, which protobuf's parser reads
    /// exactly (a JSON number goes through a double there and loses nanoseconds).
    /// </summary>
    private static void Exact64BitNumbers(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && Is64BitField(key)) o[key] = v.ToJsonString();
                    else Exact64BitNumbers(value);
                }
                break;
            case JsonArray a:
                foreach (var item in a) Exact64BitNumbers(item);
                break;
        }
    }

    private static bool Is64BitField(string key) =>
        key.EndsWith("UnixNano", StringComparison.Ordinal) || key.EndsWith("unix_nano", StringComparison.Ordinal) || key is "intValue" or "int_value";

    private static void Rename(JsonObject o, string from, string to)
    {
        if (o[from] is { } value && !o.ContainsKey(to))
        {
            o.Remove(from);
            o[to] = value;
        }
    }

    private static IEnumerable<JsonObject> Items(JsonObject o, string name) => o[name] is JsonArray a ? a.OfType<JsonObject>() : [];

    private static IEnumerable<JsonObject> Spans(JsonNode request) =>
        request["resourceSpans"] is JsonArray rs
            ? rs.OfType<JsonObject>().SelectMany(r => Items(r, "scopeSpans")).SelectMany(s => Items(s, "spans"))
            : [];
}

/// <summary>OTLP/JSON that cannot be read; the message names the span and field.</summary>
public sealed class OtlpJsonException(string message, Exception? inner = null) : FormatException(message, inner);
