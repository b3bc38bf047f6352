using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Exports to an OTLP/gRPC endpoint (<c>TraceService/Export</c>); TLS when the endpoint is https.</summary>
public sealed class OtlpGrpcSink : QueuedSpanSink
{
    private readonly OtlpGrpcTransport _transport;
    private readonly TraceService.TraceServiceClient _client;

    public OtlpGrpcSink(OtlpDestination destination, ILogger? logger = null, SinkOptions? options = null)
        : this(new OtlpGrpcTransport(destination), destination, logger, options) { }

    private OtlpGrpcSink(OtlpGrpcTransport transport, OtlpDestination destination, ILogger? logger, SinkOptions? options)
        : base(destination.Name, destination.ToString(), destination.Timeout, options, logger ?? NullLogger.Instance, transport)
    {
        _transport = transport;
        _client = new TraceService.TraceServiceClient(transport.Channel);
    }

    protected override async Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken) =>
        ExportOutcome.From(await _client.ExportAsync(request, _transport.Call(cancellationToken)).ConfigureAwait(false));
}
