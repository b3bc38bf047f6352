using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Exports to an OTLP/HTTP endpoint: the request POSTed as protobuf to the destination URL as given.</summary>
public sealed class OtlpHttpSink : QueuedSpanSink
{
    private readonly OtlpHttpTransport _transport;
    private readonly Uri _url;

    public OtlpHttpSink(OtlpDestination destination, ILogger? logger = null, SinkOptions? options = null)
        : this(new OtlpHttpTransport(destination), destination, logger, options) { }

    private OtlpHttpSink(OtlpHttpTransport transport, OtlpDestination destination, ILogger? logger, SinkOptions? options)
        : base(destination.Name, destination.ToString(), destination.Timeout, options, logger ?? NullLogger.Instance, transport)
    {
        _transport = transport;
        _url = destination.Endpoint;
    }

    protected override Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken) =>
        _transport.ExportAsync(_url, request, ExportTraceServiceResponse.Parser, ExportOutcome.From, cancellationToken);
}
