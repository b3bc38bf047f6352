using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Nerdbox.Telemetry.Settings;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Builds the sinks for configured destinations.</summary>
public static class SpanSinks
{
    /// <summary>One remote sink per destination, logging under the "Nerdbox.Telemetry.Sinks" category.</summary>
    public static QueuedSpanSink Create(OtlpDestination destination, ILoggerFactory? loggers = null, SinkOptions? options = null)
    {
        var logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger("Nerdbox.Telemetry.Sinks");
        return destination.Protocol switch
        {
            OtlpProtocol.Grpc => new OtlpGrpcSink(destination, logger, options),
            _ => new OtlpHttpSink(destination, logger, options),
        };
    }

    /// <summary>
    /// All of <paramref name="destinations"/>, plus <paramref name="more"/> (a file, the in-memory trace);
    /// queue bounds from the process environment's <c>OTEL_BSP_*</c>.
    /// </summary>
    public static SpanSinkSet Create(IEnumerable<OtlpDestination> destinations, ILoggerFactory? loggers = null, params ISpanSink[] more) =>
        Create(destinations, SinkOptions.From(OtelEnvironment.Batch()), loggers, more);

    /// <summary>The destinations and queue bounds (<c>OTEL_BSP_*</c>) <paramref name="configuration"/> names, plus <paramref name="more"/>.</summary>
    public static SpanSinkSet Create(IConfiguration configuration, ILoggerFactory? loggers = null, params ISpanSink[] more) =>
        Create(OtlpConfiguration.Parse(configuration), SinkOptions.From(BatchSettings.Parse(configuration)), loggers, more);

    private static SpanSinkSet Create(IEnumerable<OtlpDestination> destinations, SinkOptions options, ILoggerFactory? loggers, ISpanSink[] more) =>
        new(destinations.Select(d => (ISpanSink)Create(d, loggers, options)).Concat(more));
}
