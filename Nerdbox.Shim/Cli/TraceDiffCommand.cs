using System.CommandLine;
using Nerdbox.TraceViewer.Analysis;
using Nerdbox.TraceViewer.Model;
using Nerdbox.TraceViewer.Rendering;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>trace diff A B</c>: reads two traces and compares them span by span (by path of names from the root),
/// with both durations, the change, the spans found on one side only, and a warning when the runs' VM
/// environments differ. Each of A and B is a source as <c>trace show --source</c> takes it, optionally
/// followed by <c>#ID</c>; without an id it is the source's latest trace.
/// </summary>
public static class TraceDiffCommand
{
    public static Command Create()
    {
        var a = Side("A", $"the baseline: SOURCE or SOURCE#ID, SOURCE as for trace show ({TraceSourceOptions.Kinds}), ID a trace id (default: the latest)");
        var b = Side("B", "the trace compared with A, written as A is");
        var sources = new TraceSourceOptions();
        var format = CliOptions.OneOf("--format",
            "tree (one indented tree, both durations and the change), markdown (a table for a pull request) or mermaid (a gantt chart, a section per trace)",
            TraceDiffRendering.Formats, TraceDiffRendering.Formats[0]);

        var diff = new Command("diff", "Compare two traces span by span: durations on both sides and the change, critical path first, then the largest change.")
        {
            a, b, sources.Service, sources.ApiKey, format, sources.Lookback,
        };
        diff.SetAction(async (r, ct) =>
        {
            var stderr = r.InvocationConfiguration.Error;
            try
            {
                var traceA = await ReadAsync("A", r.GetRequiredValue(a), sources, r, ct);
                var traceB = await ReadAsync("B", r.GetRequiredValue(b), sources, r, ct);
                await r.InvocationConfiguration.Output.WriteAsync(TraceDiffRendering.Render(TraceDiff.Of(traceA, traceB), r.GetRequiredValue(format)));
                return 0;
            }
            catch (TraceViewerException e)
            {
                await stderr.WriteLineAsync("nerdbox: error: " + e.Message);
                return 1;
            }
        });
        return diff;
    }

    /// <summary>
    /// Splits <c>SOURCE#ID</c> at its last '#' when what follows is a trace id or <c>latest</c>; otherwise the
    /// whole text is the source (a file name may hold a '#': end it with <c>#latest</c> to keep it).
    /// </summary>
    internal static (string Source, string? Id) Split(string spec)
    {
        var hash = spec.LastIndexOf('#');
        if (hash < 0 || TraceSourceOptions.IdProblem(spec[(hash + 1)..]) is not null) return (spec, null);
        var id = spec[(hash + 1)..];
        return (spec[..hash], id == TraceSourceOptions.Latest ? null : id);
    }

    private static Argument<string> Side(string name, string description)
    {
        var side = new Argument<string>(name) { Description = description };
        side.Validators.Add(r =>
        {
            if (r.Tokens is [{ Value: var spec }] && TraceSourceOptions.Problem(Split(spec).Source, $"{name} '{spec}'") is { } problem)
                r.AddError(problem);
        });
        return side;
    }

    private static async Task<TraceModel> ReadAsync(string name, string spec, TraceSourceOptions sources, ParseResult r, CancellationToken ct)
    {
        var (source, id) = Split(spec);
        try
        {
            return await sources.Create(source, r).GetAsync(id, ct);
        }
        catch (TraceViewerException e)
        {
            throw new TraceViewerException($"{name}: {e.Message}", e);
        }
    }
}
