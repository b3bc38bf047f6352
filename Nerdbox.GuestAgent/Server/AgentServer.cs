using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Nerdbox.GuestAgent.Init;
using Nerdbox.GuestAgent.Server.Grpc;
using Nerdbox.GuestAgent.Workload;

namespace Nerdbox.GuestAgent.Server;

/// <summary>
/// The agent's two servers: the host channel's gRPC methods (<see cref="ChannelServer"/>), up before anything else,
/// and the workloads' OTLP endpoints in a Kestrel made directly rather than through the generic host. Kestrel starts
/// only when a workload first connects: a container that exports nothing, and the boot, never pay for it.
/// </summary>
internal sealed class AgentServer
{
    private readonly ChannelServer _channel;
    private readonly WorkloadEndpoints _workloads;
    private readonly ILoggerFactory _loggers;
    private readonly Lock _kestrelLock = new();
    private Task<KestrelServer>? _kestrel;

    private AgentServer(ChannelServer channel, WorkloadEndpoints workloads, ILoggerFactory loggers)
    {
        _channel = channel;
        _workloads = workloads;
        _loggers = loggers;
        workloads.FirstConnection = () => _ = StartKestrelAsync();
    }

    public static AgentServer Create(EndPoint channel, GrpcMethodTable methods, WorkloadEndpoints workloads, ILoggerFactory loggers, Action<string>? log) =>
        new(ChannelServer.Bind(channel, methods, log), workloads, loggers);

    public void Start() => _channel.Start();

    private Task<KestrelServer> StartKestrelAsync()
    {
        lock (_kestrelLock)
        {
            if (_kestrel is not null) return _kestrel;
            _kestrel = Task.Run(StartWorkloadKestrelAsync);
            // Nobody awaits the start but the stop: a failure is said on the console now, not only at power-off.
            _kestrel.ContinueWith(t => AgentLog.Write($"workload endpoints: the server did not start: {t.Exception?.GetBaseException().Message}"),
                TaskContinuationOptions.OnlyOnFaulted);
            return _kestrel;
        }
    }

    private async Task<KestrelServer> StartWorkloadKestrelAsync()
    {
        var options = new KestrelServerOptions { ApplicationServices = NoServices.Instance };
        // A workload starved of CPU beside others must not be cut off as a slow client, nor an idle exporter's
        // connection ended under it. The idle limit is long rather than infinite: with an infinite one Kestrel ends a
        // connection that idles past a heartbeat (HTTP/2: a GOAWAY between calls; HTTP/1.1: closed unanswered when
        // its request comes half a second late).
        options.Limits.KeepAliveTimeout = TimeSpan.FromDays(1);
        options.Limits.MinRequestBodyDataRate = null;
        options.Limits.MinResponseDataRate = null;
        options.Limits.Http2.KeepAlivePingDelay = Timeout.InfiniteTimeSpan;
        options.Listen(new WorkloadEndPoint(WorkloadProtocol.Grpc), l => l.Protocols = HttpProtocols.Http2);
        options.Listen(new WorkloadEndPoint(WorkloadProtocol.Http), l => l.Protocols = HttpProtocols.Http1);
        var kestrel = new KestrelServer(Options.Create(options), new AgentListenerFactory(_workloads), _loggers);
        await kestrel.StartAsync(new WorkloadRequests(), CancellationToken.None);
        return kestrel;
    }

    /// <summary>Stops listening and gives calls in flight <paramref name="grace"/> to finish.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        var channel = _channel.StopAsync(grace);
        Task<KestrelServer>? kestrel;
        lock (_kestrelLock) kestrel = _kestrel;
        if (kestrel is not null)
        {
            try
            {
                var server = await kestrel;
                using var timeout = new CancellationTokenSource(grace);
                await server.StopAsync(timeout.Token);
                server.Dispose();
            }
            catch (Exception e) when (e is OperationCanceledException or IOException) { }
        }
        else
        {
            await _workloads.DisposeAsync();
        }
        await channel;
    }

    /// <summary>Each workload connection's requests, to the OTLP routes of its protocol.</summary>
    private sealed class WorkloadRequests : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) =>
            WorkloadConnection.Of(context) is { } workload
                ? WorkloadTelemetry.ServeAsync(context, workload)
                : throw new InvalidOperationException("a connection that came through no workload endpoint");

        public void DisposeContext(HttpContext context, Exception? exception) { }
    }

    // Kestrel asks its options for services only for features the agent does not use (HTTPS, connection middleware).
    private sealed class NoServices : IServiceProvider
    {
        public static readonly NoServices Instance = new();
        public object? GetService(Type serviceType) => null;
    }
}
