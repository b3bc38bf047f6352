using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Nerdbox.Api.Bundle.V1;
using Nerdbox.Api.Contract;
using Nerdbox.Api.System.V1;
using Nerdbox.Api.Task.V1;
using Nerdbox.Api.Traces.V1;

namespace Nerdbox.Engine.Agent;

/// <summary>
/// gRPC clients for the guest agent's services over the VM's host channel. All calls share one
/// HTTP/2 connection (a virtio-serial port carries exactly one); it never idles out.
/// </summary>
public sealed class AgentClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public AgentClient(Func<CancellationToken, ValueTask<Stream>> connect)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) => await connect(ct),
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = Timeout.InfiniteTimeSpan,
            // Trace context is set per call by the interceptor, from the client span.
            ActivityHeadersPropagator = null,
        };
        _channel = GrpcChannel.ForAddress("http://nerdbox-agent", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            MaxSendMessageSize = AgentChannels.MaxHostMessageBytes,
        });
        var invoker = _channel.Intercept(new ClientSpanInterceptor());
        System = new Api.System.V1.System.SystemClient(invoker);
        Bundle = new Api.Bundle.V1.Bundle.BundleClient(invoker);
        Task = new Api.Task.V1.Task.TaskClient(invoker);
        Traces = new Api.Traces.V1.Traces.TracesClient(invoker);
    }

    public Api.System.V1.System.SystemClient System { get; }
    public Api.Bundle.V1.Bundle.BundleClient Bundle { get; }
    public Api.Task.V1.Task.TaskClient Task { get; }
    public Api.Traces.V1.Traces.TracesClient Traces { get; }

    public void Dispose() => _channel.Dispose();
}
