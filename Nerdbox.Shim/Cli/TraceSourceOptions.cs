using System.CommandLine;
using Nerdbox.Telemetry;
using Nerdbox.TraceViewer;
using Nerdbox.TraceViewer.Model;
using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// Where the trace verbs read traces: a source written <c>KIND:WHERE</c>, and the options every remote source
/// shares (service, API key, lookback). One instance per verb: an option belongs to one command.
/// </summary>
internal sealed class TraceSourceOptions
{
    public const string Kinds = "file:PATH, jaeger:URL, jaeger-v3:URL or aspire:URL";

    /// <summary>The shim's resource name in Nerdbox.AppHost: the dashboard lists its traces under it, not under the service name.</summary>
    public const string AspireShimResource = "shim";

    /// <summary>Said for a trace id to mean the newest trace of the service.</summary>
    public const string Latest = "latest";

    public Option<string> Service { get; } = new("--service")
    {
        Description = $"the service whose latest trace to read (default {ShimTracing.ServiceName} for Jaeger; for Aspire the newer of resources {AspireShimResource} and {ShimTracing.ServiceName}; any service in a file)",
        HelpName = "NAME",
    };

    public Option<string> ApiKey { get; } = new("--api-key")
    {
        Description = "sent as x-api-key to the Aspire dashboard (default: NERDBOX_TRACE_API_KEY)",
        HelpName = "KEY",
    };

    public Option<double> Lookback { get; } = CliOptions.PositiveNumber("--lookback", "MINUTES", "how far back to look for the latest trace", 60);

    /// <summary>The source <paramref name="spec"/> names, with the options as given on the command line.</summary>
    public ITraceSource Create(string spec, ParseResult r) => Create(spec, r.GetValue(Service),
        r.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable("NERDBOX_TRACE_API_KEY"), TimeSpan.FromMinutes(r.GetValue(Lookback)));

    /// <summary>Makes the source <paramref name="spec"/> names; <see cref="ArgumentException"/> when it names none.</summary>
    public static ITraceSource Create(string spec, string? service, string? apiKey, TimeSpan lookback)
    {
        if (Problem(spec, $"'{spec}'") is { } problem) throw new ArgumentException(problem);
        var (kind, rest) = Split(spec);
        var remoteService = service ?? ShimTracing.ServiceName;
        return kind switch
        {
            "file" => new OtlpFileSource(rest, service),
            "jaeger" => new JaegerSource(new Uri(rest), remoteService) { Lookback = lookback },
            "jaeger-v3" => new JaegerV3Source(new Uri(rest), remoteService) { Lookback = lookback },
            _ when service is not null => new AspireDashboardSource(new Uri(rest), service, apiKey),
            // Under Nerdbox.AppHost the shim is the resource "shim"; a shim run on its own reports as "nerdbox".
            _ => new NewestOf([new AspireDashboardSource(new Uri(rest), AspireShimResource, apiKey), new AspireDashboardSource(new Uri(rest), ShimTracing.ServiceName, apiKey)]),
        };
    }

    /// <summary>What is wrong with a source <paramref name="spec"/>, or null when it names one; <paramref name="what"/> names it in the message.</summary>
    public static string? Problem(string spec, string what)
    {
        var (kind, rest) = Split(spec);
        if (rest.Length == 0) return $"{what} wants KIND:WHERE ({Kinds})";
        if (kind is not ("file" or "jaeger" or "jaeger-v3" or "aspire")) return $"unknown source kind '{kind}' (want file, jaeger, jaeger-v3 or aspire)";
        if (kind != "file" && !(Uri.TryCreate(rest, UriKind.Absolute, out var u) && u.Scheme is "http" or "https")) return $"'{rest}' is not an http(s) URL";
        return null;
    }

    /// <summary>What is wrong with a trace id a user gave, or null when it is one (or <see cref="Latest"/>).</summary>
    public static string? IdProblem(string id) =>
        id == Latest || TraceIds.IsValid(id) ? null : $"'{id}' is not a trace id (1 to 32 hex digits) or '{Latest}'";

    private static (string Kind, string Where) Split(string spec)
    {
        var colon = spec.IndexOf(':');
        return colon > 0 ? (spec[..colon], spec[(colon + 1)..]) : ("", "");
    }

    /// <summary>A trace by id from the first source that has it; "latest" is the newest of all the sources' latest.</summary>
    private sealed class NewestOf(IReadOnlyList<ITraceSource> sources) : ITraceSource
    {
        public string Description => sources[0].Description;

        public async Task<TraceModel> GetAsync(string? traceId, CancellationToken cancellationToken)
        {
            var found = new List<TraceModel>();
            var problems = new List<string>();
            foreach (var source in sources)
            {
                try
                {
                    found.Add(await source.GetAsync(traceId, cancellationToken));
                    if (traceId is not null) break;
                }
                catch (TraceViewerException e)
                {
                    problems.Add(e.Message);
                }
            }
            return found.MaxBy(t => t.StartUnixNano) ?? throw new TraceViewerException(string.Join("; ", problems.Distinct()));
        }
    }
}
