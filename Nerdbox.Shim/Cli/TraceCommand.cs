using System.CommandLine;
using Nerdbox.TraceViewer;
using Nerdbox.TraceViewer.Sources;
using Nerdbox.TraceViewer.Model;
using Nerdbox.TraceViewer.Rendering;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>trace show</c>: reads one trace from a file, Jaeger or the Aspire dashboard and prints it as an
/// indented tree with its critical path, or as a Mermaid gantt chart to paste into a PR.
/// <c>trace diff</c> (<see cref="TraceDiffCommand"/>) compares two.
/// </summary>
public static class TraceCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("ID|latest")
        {
            Description = "a trace id (1 to 32 hex digits), or latest: the newest trace of --service within --lookback",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => TraceSourceOptions.Latest,
        };
        id.Validators.Add(r =>
        {
            if (r.Tokens is [{ Value: var v }] && TraceSourceOptions.IdProblem(v) is { } problem) r.AddError(problem);
        });
        var source = new Option<string>("--source")
        {
            Description = $"where the trace is: {TraceSourceOptions.Kinds}. A file holds OTLP JSON or Jaeger JSON; jaeger-v3 is Jaeger's v3 API (OTLP JSON); aspire is the Aspire dashboard's telemetry API",
            HelpName = "SOURCE",
            Required = true,
        };
        source.Validators.Add(r =>
        {
            if (r.Tokens is [{ Value: var spec }] && TraceSourceOptions.Problem(spec, $"--source '{spec}'") is { } problem) r.AddError(problem);
        });
        var sources = new TraceSourceOptions();
        var format = CliOptions.OneOf("--format", "tree, mermaid (a bare chart) or markdown (the chart in a ```mermaid block, then the tree)",
            TraceRendering.Formats, TraceRendering.Formats[0]);

        var show = new Command("show", "Print one trace as a tree with its critical path, or as a Mermaid gantt chart.")
        {
            id, source, sources.Service, sources.ApiKey, format, sources.Lookback,
        };
        show.SetAction(async (r, ct) =>
        {
            var requested = r.GetValue(id);
            var traceSource = sources.Create(r.GetRequiredValue(source), r);
            return await ShowAsync(traceSource, requested == TraceSourceOptions.Latest ? null : requested, r.GetRequiredValue(format),
                r.InvocationConfiguration.Output, r.InvocationConfiguration.Error, ct);
        });
        return new Command("trace", $"Read traces from a file, Jaeger or the Aspire dashboard ({TraceSourceOptions.Kinds}): show one, or diff two.")
        {
            show, TraceDiffCommand.Create(),
        };
    }

    /// <summary>Runs <c>trace ARGS</c> in this process, writing to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct) =>
        ShimCli.RunAsync(["trace", .. args], stdout, stderr, ct);

    private static async Task<int> ShowAsync(ITraceSource source, string? id, string format, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        try
        {
            var trace = await source.GetAsync(id, ct);
            await stdout.WriteAsync(Render(trace, format));
            return 0;
        }
        catch (TraceViewerException e)
        {
            await stderr.WriteLineAsync("nerdbox: error: " + e.Message);
            return 1;
        }
    }

    /// <summary>Renders <paramref name="trace"/> as <c>tree</c>, <c>mermaid</c> or <c>markdown</c>.</summary>
    public static string Render(TraceModel trace, string format) => TraceRendering.Render(trace, format);

    /// <summary>Makes the source a <c>--source</c> value names; <see cref="ArgumentException"/> when it names none.</summary>
    public static ITraceSource CreateSource(string spec, string? service, string? apiKey, TimeSpan lookback) =>
        TraceSourceOptions.Create(spec, service, apiKey, lookback);
}
