using System.CommandLine;
using Nerdbox.Telemetry;
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

    /// <summary>Said for a trace id to mean the newest trace of the service.</summary>
    public const string Latest = "latest";

    public Option<string> Service { get; } = new("--service")
    {
        Description = $"the service whose latest trace to read (default {ShimTracing.ServiceName} for Jaeger and Aspire; any service in a file)",
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
            _ => new AspireDashboardSource(new Uri(rest), remoteService, apiKey),
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
}
