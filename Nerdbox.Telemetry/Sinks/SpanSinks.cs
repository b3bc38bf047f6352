using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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

    /// <summary>All of <paramref name="destinations"/>, plus <paramref name="more"/> (a file, the in-memory trace).</summary>
    public static SpanSinkSet Create(IEnumerable<OtlpDestination> destinations, ILoggerFactory? loggers = null, params ISpanSink[] more) =>
        new(destinations.Select(d => (ISpanSink)Create(d, loggers)).Concat(more));
}
