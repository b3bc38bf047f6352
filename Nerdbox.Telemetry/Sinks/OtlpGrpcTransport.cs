using Nerdbox.Telemetry.Otlp;
using Grpc.Core;
using Grpc.Net.Client;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// One OTLP/gRPC destination's channel and call headers, as the span and log sinks of that destination each
/// use them (TLS when the endpoint is https), and how its failures read and retry.
/// </summary>
internal sealed class OtlpGrpcTransport : IExportTransport
{
    public OtlpGrpcTransport(OtlpDestination destination)
    {
        if (destination.Protocol != OtlpProtocol.Grpc)
            throw new ArgumentException($"{destination} is not a gRPC destination", nameof(destination));
        foreach (var (key, value) in destination.Headers) Headers.Add(key.ToLowerInvariant(), value);
        // Grpc.Net.Client compresses a call's message when asked through this header (gzip is a default provider).
        if (destination.Compression == OtlpCompression.Gzip) Headers.Add("grpc-internal-encoding-request", "gzip");
        Channel = GrpcChannel.ForAddress(destination.Endpoint, new GrpcChannelOptions
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
    }

    public GrpcChannel Channel { get; }
    public Metadata Headers { get; } = new();

    public CallOptions Call(CancellationToken cancellationToken) => new(Headers, cancellationToken: cancellationToken);

    public string? Describe(Exception e) => e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : null;

    public RetryVerdict Retryable(Exception e) => e is RpcException rpc ? GrpcRetry.Verdict(rpc) : RetryVerdict.No;

    public void Dispose() => Channel.Dispose();
}
