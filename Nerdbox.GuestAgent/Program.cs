using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Nerdbox.GuestAgent;
using Nerdbox.GuestAgent.Bundles;
using Nerdbox.GuestAgent.Channels;
using Nerdbox.GuestAgent.Init;
using Nerdbox.GuestAgent.Native;
using Nerdbox.GuestAgent.Services;
using Nerdbox.GuestAgent.Tasks;
using Nerdbox.GuestAgent.Tracing;
using Nerdbox.GuestAgent.Workload;

// The guest agent. As a VM's /init: mounts, modules, reaping, then gRPC on the host channel, and
// power-off at the end. As a host process: the same services on a unix socket (for tests).
var timeline = new BootTimeline { InitStartedNs = BootClock.BootNs() };
var isPid1 = Environment.ProcessId == 1;

// Pipe and device reads block pool threads; with one vCPU the pool would otherwise add threads
// only every half second or so, and every RPC would wait for one.
ThreadPool.SetMinThreads(32, 32);

try
{
    if (isPid1)
    {
        GuestInit.Run(AgentLog.Write, timeline);
    }
    else
    {
        // On a host, orphaned container processes must come back to the agent to be reaped.
        Libc.Prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        KernelModules.LoadDeferred(AgentLog.Write); // nothing to load on a host: marks the modules ready
    }
    ChildReaper.Instance.Start();
    var options = AgentOptions.Parse(args, isPid1);
    GuestTracing.Start(options.SpanBufferSpans, options.SpanBufferBytes, options.WorkloadBufferItems, options.WorkloadBufferBytes);
    Directory.CreateDirectory(options.BundleRoot);
    var endpoint = AgentChannel.Resolve(options.ChannelSpec, TimeSpan.FromSeconds(10));
    options.ChannelDescription = endpoint.ToString() ?? "";
    timeline.ChannelFoundNs = BootClock.BootNs();
    if (endpoint is System.Net.Sockets.UnixDomainSocketEndPoint && File.Exists(options.ChannelSpec[5..])) File.Delete(options.ChannelSpec[5..]);

    // The empty builder: no configuration files to watch, no defaults to probe; start-up is on the boot path.
    var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    // As init, the console is the serial port: only warnings, and no console logger thread on the boot path.
    if (!isPid1) builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
    builder.Services.AddSingleton(options);
    builder.Services.AddSingleton(timeline);
    builder.Services.AddSingleton(new BundleStore(options.BundleRoot));
    // gRPC services are made per call unless registered; these hold the VM's tasks.
    builder.Services.AddSingleton<TaskService>();
    builder.Services.AddRoutingCore();
    builder.Services.AddGrpc(o =>
    {
        o.Interceptors.Add<ServerSpanInterceptor>();
        o.MaxReceiveMessageSize = 32 * 1024 * 1024;
    });
    builder.WebHost.UseKestrelCore();
    // The socket transport serves unix sockets; a VM's channels have their own listeners.
    if (endpoint is System.Net.Sockets.UnixDomainSocketEndPoint) builder.WebHost.UseSockets();
    builder.WebHost.ConfigureKestrel(k =>
    {
        // One long-lived HTTP/2 connection carries every call: no idle or data-rate cut-offs. The idle limit is
        // long rather than infinite: with an infinite one Kestrel ends a connection that idles past a heartbeat
        // (HTTP/2: a GOAWAY between calls; HTTP/1.1: closed unanswered when its request comes half a second late).
        k.Limits.KeepAliveTimeout = TimeSpan.FromDays(1);
        k.Limits.MinRequestBodyDataRate = null;
        k.Limits.MinResponseDataRate = null;
        k.Limits.Http2.KeepAlivePingDelay = Timeout.InfiniteTimeSpan;
        k.Listen(endpoint, l => l.Protocols = HttpProtocols.Http2);
    });

    // After UseSockets, which registers its factory only when none is there yet.
    builder.Services.AddSingleton<IConnectionListenerFactory, ChannelListenerFactory>();
    builder.AddWorkloadTelemetry(options);

    var app = builder.Build();
    app.MapGrpcService<SystemService>();
    app.MapGrpcService<BundleService>();
    app.MapGrpcService<TaskService>();
    app.MapGrpcService<TracesService>();
    app.MapWorkloadTelemetry();
    await app.StartAsync();
    timeline.ListenerReadyNs = BootClock.BootNs();
    if (isPid1) _ = Task.Run(() => KernelModules.LoadDeferred(AgentLog.Write));
    // As init this goes to the VM's console, which the shim quotes when a VM or a task fails.
    AgentLog.Write($"listening on {options.ChannelDescription}");
    if (!isPid1 && options.GenerateSpans > 0) _ = SpanGenerator.RunAsync(options.GenerateSpans, !options.GenerateUnpaced, AgentLog.Write);
    await app.WaitForShutdownAsync();
}
catch (Exception e)
{
    AgentLog.Write("fatal: " + e);
    if (!isPid1) return 1;
}
if (isPid1) GuestInit.PowerOff();
return 0;
