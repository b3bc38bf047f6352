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
        : base(destination.Name, destination.ToString(), destination.Timeout, options, logger ?? NullLogger.Instance)
    {
        _transport = new OtlpGrpcTransport(destination);
        _client = new TraceService.TraceServiceClient(_transport.Channel);
    }

    protected override async Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken) =>
        ExportOutcome.From(await _client.ExportAsync(request, _transport.Call(cancellationToken)).ConfigureAwait(false));

    protected override string Describe(Exception e) => OtlpGrpcTransport.Describe(e) ?? base.Describe(e);

    protected override RetryVerdict Retryable(Exception e) => OtlpGrpcTransport.Retryable(e);

    protected override ValueTask DisposeTransportAsync()
    {
        _transport.Dispose();
        return ValueTask.CompletedTask;
    }
}
