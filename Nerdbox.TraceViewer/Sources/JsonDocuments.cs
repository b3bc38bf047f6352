using System.Text;
using System.Text.Json;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// Reads a response body as JSON. Streaming APIs (Jaeger v3's gateway, Aspire with follow) send
/// several documents one after another, so every top-level value is returned.
/// </summary>
internal static class JsonDocuments
{
    public static List<JsonElement> Parse(string text, string origin)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new TraceViewerException($"{origin}: the response is empty");
        var bytes = Encoding.UTF8.GetBytes(text.TrimStart('\uFEFF'));
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowMultipleValues = true, CommentHandling = JsonCommentHandling.Skip });
        var values = new List<JsonElement>();
        try
        {
            // Read moves to each value's first token; ParseValue leaves the reader on its last one.
            while (reader.Read())
                values.Add(JsonElement.ParseValue(ref reader));
        }
        catch (JsonException e)
        {
            throw new TraceViewerException($"{origin}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {Snippet(text)}", e);
        }
        if (values.Count == 0) throw new TraceViewerException($"{origin}: the response holds no JSON value");
        return values;
    }

    /// <summary>The start of a body, on one line, for error messages.</summary>
    public static string Snippet(string text)
    {
        var s = text.Trim().ReplaceLineEndings(" ");
        return s.Length <= 120 ? $"'{s}'" : $"'{s[..120]}...'";
    }

    public static JsonElement? Prop(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string? Str(this JsonElement e, string name) => e.Prop(name) switch
    {
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { ValueKind: JsonValueKind.Number } v => v.GetRawText(),
        _ => null,
    };

    /// <summary>A 64-bit integer written as a JSON number or, as protobuf JSON does, a string.</summary>
    public static long? Int64(this JsonElement e, string name) => e.Prop(name) switch
    {
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt64(out var n) => n,
        { ValueKind: JsonValueKind.Number } v when v.TryGetDouble(out var d) => (long)d,
        { ValueKind: JsonValueKind.String } v when long.TryParse(v.GetString(), out var n) => n,
        { ValueKind: JsonValueKind.String } v when ulong.TryParse(v.GetString(), out var u) => (long)Math.Min(u, long.MaxValue),
        _ => null,
    };

    public static IEnumerable<JsonElement> Array(this JsonElement e, string name) =>
        e.Prop(name) is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray() : [];
}
