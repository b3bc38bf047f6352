using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Logs.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Exports log records to an OTLP/gRPC destination (<c>LogsService/Export</c>), beside its span sink.</summary>
public sealed class OtlpGrpcLogSink : QueuedLogSink
{
    private readonly OtlpGrpcTransport _transport;
    private readonly LogsService.LogsServiceClient _client;

    public OtlpGrpcLogSink(OtlpDestination destination, ILogger? logger = null, SinkOptions? options = null)
        : base(destination.Name, $"{destination} logs", destination.Timeout, options, logger ?? NullLogger.Instance)
    {
        _transport = new OtlpGrpcTransport(destination);
        _client = new LogsService.LogsServiceClient(_transport.Channel);
    }

    protected override async Task<ExportOutcome> SendAsync(ExportLogsServiceRequest request, CancellationToken cancellationToken) =>
        ExportOutcome.From(await _client.ExportAsync(request, _transport.Call(cancellationToken)).ConfigureAwait(false));

    protected override string Describe(Exception e) => OtlpGrpcTransport.Describe(e) ?? base.Describe(e);

    protected override RetryVerdict Retryable(Exception e) => OtlpGrpcTransport.Retryable(e);

    protected override ValueTask DisposeTransportAsync()
    {
        _transport.Dispose();
        return ValueTask.CompletedTask;
    }
}
