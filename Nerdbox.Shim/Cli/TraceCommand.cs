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
    public const string Usage = """
        usage: nerdbox-shim trace show [ID|latest] --source SOURCE [--service NAME] [--api-key KEY]
                                       [--format tree|mermaid|markdown] [--lookback MINUTES]
          SOURCE is one of
            file:PATH           a file of OTLP JSON ({"resourceSpans": [...]}) or Jaeger JSON
            jaeger:URL          Jaeger's query API, e.g. jaeger:http://localhost:16686
            jaeger-v3:URL       Jaeger's v3 API (OTLP JSON), e.g. jaeger-v3:http://localhost:16686
            aspire:URL          the Aspire dashboard's telemetry API, e.g. aspire:http://localhost:18888
          latest (the default) is the newest trace of --service (default nerdbox for Jaeger and
          Aspire; any service in a file) within --lookback minutes (default 60).
          --api-key (or NERDBOX_TRACE_API_KEY) is sent as x-api-key to the Aspire dashboard.
          --format: tree (default), mermaid (bare chart), markdown (chart in a ```mermaid block + tree)
        """;

    public static Task<int> RunAsync(string[] args, CancellationToken ct) => RunAsync(args, Console.Out, Console.Error, ct);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var a = new CliArgs(args, "help");
        if (a.Has("help") || a.Positional.FirstOrDefault() == "help")
        {
            await stdout.WriteLineAsync(Usage);
            return 0;
        }
        if (a.Positional.Count is 0 or > 2 || a.Positional[0] != "show" || a.Get("source") is not { Length: > 0 } spec)
            return BadUsage(stderr, a.Positional.FirstOrDefault() is { } v && v != "show" ? $"unknown trace verb '{v}'" : null);
        var format = a.Get("format", "tree");
        if (!TraceRendering.Formats.Contains(format)) return BadUsage(stderr, $"unknown format '{format}'");
        var id = a.Positional.Count == 2 && a.Positional[1] != "latest" ? a.Positional[1] : null;
        if (id is not null && !TraceIds.IsValid(id)) return BadUsage(stderr, $"'{id}' is not a trace id (1 to 32 hex digits) or 'latest'");
        var lookback = TimeSpan.FromMinutes(a.Get("lookback") is { } m ? (double.TryParse(m, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : -1) : 60);
        if (lookback <= TimeSpan.Zero) return BadUsage(stderr, "--lookback wants a positive number of minutes");

        ITraceSource source;
        try
        {
            source = CreateSource(spec, a.Get("service"), a.Get("api-key") ?? Environment.GetEnvironmentVariable("NERDBOX_TRACE_API_KEY"), lookback);
        }
        catch (ArgumentException e)
        {
            return BadUsage(stderr, e.Message);
        }

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
        var colon = spec.IndexOf(':');
        var kind = colon > 0 ? spec[..colon] : "";
        var rest = colon > 0 ? spec[(colon + 1)..] : "";
        if (rest.Length == 0) throw new ArgumentException($"--source '{spec}' wants KIND:WHERE (file:PATH, jaeger:URL, jaeger-v3:URL, aspire:URL)");
        var remoteService = service ?? ShimTracing.ServiceName;
        return kind switch
        {
            "file" => new OtlpFileSource(rest, service),
            "jaeger" => new JaegerSource(Url(rest), remoteService) { Lookback = lookback },
            "jaeger-v3" => new JaegerV3Source(Url(rest), remoteService) { Lookback = lookback },
            "aspire" => new AspireDashboardSource(Url(rest), remoteService, apiKey),
            _ => throw new ArgumentException($"unknown source kind '{kind}' (want file, jaeger, jaeger-v3 or aspire)"),
        };

        static Uri Url(string s) =>
            Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u : throw new ArgumentException($"'{s}' is not an http(s) URL");
    }

    private static int BadUsage(TextWriter stderr, string? problem)
    {
        if (problem is not null) stderr.WriteLine("nerdbox: " + problem);
        stderr.WriteLine(Usage);
        return 2;
    }
}
