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
        : this(new OtlpGrpcTransport(destination), destination, logger, options) { }

    private OtlpGrpcLogSink(OtlpGrpcTransport transport, OtlpDestination destination, ILogger? logger, SinkOptions? options)
        : base(destination.Name, $"{destination} logs", destination.Timeout, options, logger ?? NullLogger.Instance, transport)
    {
        _transport = transport;
        _client = new LogsService.LogsServiceClient(transport.Channel);
    }

    protected override async Task<ExportOutcome> SendAsync(ExportLogsServiceRequest request, CancellationToken cancellationToken) =>
        ExportOutcome.From(await _client.ExportAsync(request, _transport.Call(cancellationToken)).ConfigureAwait(false));
}
