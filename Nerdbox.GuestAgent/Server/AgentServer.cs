using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Nerdbox.GuestAgent.Server.Grpc;
using Nerdbox.GuestAgent.Workload;

namespace Nerdbox.GuestAgent.Server;

/// <summary>
/// The agent's one Kestrel server, made directly rather than through the generic host: the host channel's gRPC
/// methods and the workloads' OTLP endpoints. Without a host there is no dependency injection, configuration or
/// routing to set up before the listener is up, which under emulation cost more than Kestrel itself.
/// </summary>
internal sealed class AgentServer(KestrelServer kestrel, IHttpApplication<HttpContext> requests)
{
    public static AgentServer Create(EndPoint channel, GrpcMethodTable methods, WorkloadEndpoints workloads, ILoggerFactory loggers)
    {
        var options = new KestrelServerOptions { ApplicationServices = NoServices.Instance };
        // One long-lived HTTP/2 connection carries every call: no idle or data-rate cut-offs. The idle limit is
        // long rather than infinite: with an infinite one Kestrel ends a connection that idles past a heartbeat
        // (HTTP/2: a GOAWAY between calls; HTTP/1.1: closed unanswered when its request comes half a second late).
        options.Limits.KeepAliveTimeout = TimeSpan.FromDays(1);
        options.Limits.MinRequestBodyDataRate = null;
        options.Limits.MinResponseDataRate = null;
        options.Limits.Http2.KeepAlivePingDelay = Timeout.InfiniteTimeSpan;
        options.Listen(channel, l => l.Protocols = HttpProtocols.Http2);
        options.Listen(new WorkloadEndPoint(WorkloadProtocol.Grpc), l => l.Protocols = HttpProtocols.Http2);
        options.Listen(new WorkloadEndPoint(WorkloadProtocol.Http), l => l.Protocols = HttpProtocols.Http1);
        var kestrel = new KestrelServer(Options.Create(options), new AgentListenerFactory(workloads, loggers), loggers);
        return new AgentServer(kestrel, new Requests(methods));
    }

    public Task StartAsync(CancellationToken ct) => kestrel.StartAsync(requests, ct);

    /// <summary>Stops listening and gives calls in flight <paramref name="grace"/> to finish.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        await kestrel.StopAsync(timeout.Token);
        kestrel.Dispose();
    }

    /// <summary>Each request to its side: a workload connection's to the OTLP routes, the host channel's to the gRPC methods.</summary>
    private sealed class Requests(GrpcMethodTable methods) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) =>
            WorkloadConnection.Of(context) is { } workload ? WorkloadTelemetry.ServeAsync(context, workload) : methods.ServeAsync(context);

        public void DisposeContext(HttpContext context, Exception? exception) { }
    }

    // Kestrel asks its options for services only for features the agent does not use (HTTPS, connection middleware).
    private sealed class NoServices : IServiceProvider
    {
        public static readonly NoServices Instance = new();
        public object? GetService(Type serviceType) => null;
    }
}
