using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nerdbox.AppHost.Shim;

/// <summary>The shim's answer to POST /samples/run, and its rendering as the command's Markdown result.</summary>
public sealed record SampleRunResult(string TraceId, int ExitStatus, string Output, string Backend, int Cpus, int MemoryMib,
    double BootToOutputMs, IReadOnlyList<SampleRunResult.Phase> Phases, double? BootToAppReadyMs = null)
{
    public sealed record Phase(string Name, double? StartMs, double? TookMs);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static SampleRunResult Parse(string json) =>
        JsonSerializer.Deserialize<SampleRunResult>(json, Json) ?? throw new JsonException("the shim answered null");

    /// <summary>What a problem answer says: each field's errors (a 400), else its detail, else the body.</summary>
    public static string Problem(string body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object)
                return string.Join("; ", errors.EnumerateObject().Select(f => $"{f.Name}: {string.Join(", ", f.Value.EnumerateArray().Select(v => v.GetString()))}"));
            if (root.TryGetProperty("detail", out var detail)) return detail.GetString() ?? body;
        }
        catch (JsonException) { }
        return body;
    }

    public string ToMarkdown(IReadOnlyList<(string Name, string Url)> traceLinks)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"**exit code {ExitStatus}** · {Backend} · {Cpus} CPU · {MemoryMib} MiB · boot to output {BootToOutputMs:0} ms");
        md.AppendLine();
        md.AppendLine("| phase | start ms | took ms |");
        md.AppendLine("|---|---:|---:|");
        foreach (var p in Phases) md.AppendLine(CultureInfo.InvariantCulture, $"| {p.Name} | {Ms(p.StartMs)} | {Ms(p.TookMs)} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| boot to output | | {BootToOutputMs:0} |");
        // The app's own readiness, from its spans: the end of its app.Ready span, when it sent one.
        md.AppendLine(CultureInfo.InvariantCulture, $"| boot to app ready | | {Ms(BootToAppReadyMs)} |");
        md.AppendLine();
        var links = traceLinks.Count == 0 ? "(no dashboard)" : string.Join(" · ", traceLinks.Select(l => $"[{l.Name}]({l.Url})"));
        md.AppendLine(CultureInfo.InvariantCulture, $"trace `{TraceId}`: {links}");
        md.AppendLine();
        md.AppendLine("```");
        md.AppendLine(Output.TrimEnd());
        md.AppendLine("```");
        return md.ToString();
    }

    private static string Ms(double? ms) => ms is { } v ? v.ToString("0", CultureInfo.InvariantCulture) : "-";
}
