using System.CommandLine;
using Nerdbox.Telemetry;
using Nerdbox.TraceViewer;
using Nerdbox.TraceViewer.Sources;
using Nerdbox.TraceViewer.Model;
using Nerdbox.TraceViewer.Rendering;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>trace show</c>: reads one trace from a file, Jaeger or the Aspire dashboard and prints it as an
/// indented tree with its critical path, or as a Mermaid gantt chart to paste into a PR.
/// </summary>
public static class TraceCommand
{
    private const string Latest = "latest";

    private const string SourceKinds = "file:PATH, jaeger:URL, jaeger-v3:URL or aspire:URL";

    public static Command Create()
    {
        var id = new Argument<string>("ID|latest")
        {
            Description = "a trace id (1 to 32 hex digits), or latest: the newest trace of --service within --lookback",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => Latest,
        };
        id.Validators.Add(r =>
        {
            if (r.Tokens is [{ Value: var v }] && v != Latest && !TraceIds.IsValid(v))
                r.AddError($"'{v}' is not a trace id (1 to 32 hex digits) or '{Latest}'");
        });
        var source = new Option<string>("--source")
        {
            Description = $"where the trace is: {SourceKinds}. A file holds OTLP JSON or Jaeger JSON; jaeger-v3 is Jaeger's v3 API (OTLP JSON); aspire is the Aspire dashboard's telemetry API",
            HelpName = "SOURCE",
            Required = true,
        };
        source.Validators.Add(r =>
        {
            if (r.Tokens is [{ Value: var spec }] && SourceProblem(spec) is { } problem) r.AddError(problem);
        });
        var service = new Option<string>("--service") { Description = $"the service whose latest trace to show (default {ShimTracing.ServiceName} for Jaeger and Aspire; any service in a file)", HelpName = "NAME" };
        var apiKey = new Option<string>("--api-key") { Description = "sent as x-api-key to the Aspire dashboard (default: NERDBOX_TRACE_API_KEY)", HelpName = "KEY" };
        var format = CliOptions.OneOf("--format", "tree, mermaid (a bare chart) or markdown (the chart in a ```mermaid block, then the tree)",
            TraceRendering.Formats, TraceRendering.Formats[0]);
        var lookback = CliOptions.PositiveNumber("--lookback", "MINUTES", "how far back to look for the latest trace", 60);

        var show = new Command("show", "Print one trace as a tree with its critical path, or as a Mermaid gantt chart.")
        {
            id, source, service, apiKey, format, lookback,
        };
        show.SetAction(async (r, ct) =>
        {
            var requested = r.GetValue(id);
            var traceSource = CreateSource(r.GetRequiredValue(source), r.GetValue(service),
                r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("NERDBOX_TRACE_API_KEY"), TimeSpan.FromMinutes(r.GetValue(lookback)));
            return await ShowAsync(traceSource, requested == Latest ? null : requested, r.GetRequiredValue(format),
                r.InvocationConfiguration.Output, r.InvocationConfiguration.Error, ct);
        });
        return new Command("trace", $"Read a trace from a file, Jaeger or the Aspire dashboard: {SourceKinds}.") { show };
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
    public static ITraceSource CreateSource(string spec, string? service, string? apiKey, TimeSpan lookback)
    {
        if (SourceProblem(spec) is { } problem) throw new ArgumentException(problem);
        var (kind, rest) = Split(spec);
        var remoteService = service ?? ShimTracing.ServiceName;
        return kind switch
        {
            "file" => new OtlpFileSource(rest, service),
            "jaeger" => new JaegerSource(new Uri(rest), remoteService) { Lookback = lookback },
            "jaeger-v3" => new JaegerV3Source(new Uri(rest), remoteService) { Lookback = lookback },
            _ => new AspireDashboardSource(new Uri(rest), remoteService, apiKey),
        };
    }

    /// <summary>What is wrong with a <c>--source</c> value, or null when it names a source.</summary>
    private static string? SourceProblem(string spec)
    {
        var (kind, rest) = Split(spec);
        if (rest.Length == 0) return $"--source '{spec}' wants KIND:WHERE ({SourceKinds})";
        if (kind is not ("file" or "jaeger" or "jaeger-v3" or "aspire")) return $"unknown source kind '{kind}' (want file, jaeger, jaeger-v3 or aspire)";
        if (kind != "file" && !(Uri.TryCreate(rest, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")) return $"'{rest}' is not an http(s) URL";
        return null;
    }

    private static (string Kind, string Where) Split(string spec)
    {
        var colon = spec.IndexOf(':');
        return colon > 0 ? (spec[..colon], spec[(colon + 1)..]) : ("", "");
    }
}
