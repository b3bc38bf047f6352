using Nerdbox.Telemetry.Otlp;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Exports to an OTLP/gRPC endpoint (<c>TraceService/Export</c>); TLS when the endpoint is https.</summary>
public sealed class OtlpGrpcSink : QueuedSpanSink
{
    private readonly GrpcChannel _channel;
    private readonly TraceService.TraceServiceClient _client;
    private readonly Metadata _headers = new();

    public OtlpGrpcSink(OtlpDestination destination, ILogger? logger = null, SinkOptions? options = null)
        : base(destination.Name, destination.ToString(), destination.Timeout, options, logger ?? NullLogger.Instance)
    {
        if (destination.Protocol != OtlpProtocol.Grpc)
            throw new ArgumentException($"{destination} is not a gRPC destination", nameof(destination));
        foreach (var (key, value) in destination.Headers) _headers.Add(key.ToLowerInvariant(), value);
        // Grpc.Net.Client compresses a call's message when asked through this header (gzip is a default provider).
        if (destination.Compression == OtlpCompression.Gzip) _headers.Add("grpc-internal-encoding-request", "gzip");
        _channel = GrpcChannel.ForAddress(destination.Endpoint, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = destination.Timeout,
                // Our own calls carry no trace context: they are not part of the traces they carry.
                ActivityHeadersPropagator = null,
                EnableMultipleHttp2Connections = true,
            },
            // A collector that comes back should be found again within seconds, not gRPC's default two minutes.
            InitialReconnectBackoff = TimeSpan.FromMilliseconds(200),
            MaxReconnectBackoff = TimeSpan.FromSeconds(2),
        });
        _client = new TraceService.TraceServiceClient(_channel);
    }

    protected override async Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken)
    {
        var response = await _client.ExportAsync(request, new CallOptions(_headers, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return ExportOutcome.From(response);
    }

    protected override string Describe(Exception e) => e switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => base.Describe(e),
    };

    protected override RetryVerdict Retryable(Exception e) => e is RpcException rpc ? GrpcRetry.Verdict(rpc) : RetryVerdict.No;

    protected override ValueTask DisposeTransportAsync()
    {
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }
}
