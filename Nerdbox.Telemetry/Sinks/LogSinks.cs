using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nerdbox.Telemetry.Settings;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Builds the log sinks that go beside the span sinks: one per OTLP destination, on the same transport and
/// with the same queue bounds. Workloads' log records go wherever their spans go.
/// </summary>
public static class LogSinks
{
    /// <summary>The log sink of one destination; null, with the reason, when it has no logs endpoint.</summary>
    public static (QueuedLogSink? Sink, string? Skipped) Create(OtlpDestination destination, ILoggerFactory? loggers = null, SinkOptions? options = null)
    {
        var logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger("Nerdbox.Telemetry.Sinks");
        if (destination.Protocol == OtlpProtocol.Grpc) return (new OtlpGrpcLogSink(destination, logger, options), null);
        if (OtlpHttpLogSink.LogsUrl(destination) is null)
            return (null, $"{destination.Name}: no logs sent (its traces URL {destination.Endpoint} does not end with /v1/traces)");
        return (new OtlpHttpLogSink(destination, logger, options), null);
    }

    public static LogSinkSet Create(IEnumerable<OtlpDestination> destinations, ILoggerFactory? loggers = null) =>
        Create(destinations, SinkOptions.From(OtelEnvironment.Batch()), loggers);

    /// <summary>The log sinks of the destinations <paramref name="configuration"/> names.</summary>
    public static LogSinkSet Create(IConfiguration configuration, ILoggerFactory? loggers = null) =>
        Create(OtlpConfiguration.Parse(configuration), SinkOptions.From(BatchSettings.Parse(configuration)), loggers);

    private static LogSinkSet Create(IEnumerable<OtlpDestination> destinations, SinkOptions options, ILoggerFactory? loggers)
    {
        var made = destinations.Select(d => Create(d, loggers, options)).ToList();
        return new LogSinkSet(made.Where(m => m.Sink is not null).Select(m => (ILogSink)m.Sink!), made.Select(m => m.Skipped).OfType<string>());
    }
}
