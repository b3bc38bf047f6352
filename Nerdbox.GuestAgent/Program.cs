using System.Runtime.InteropServices;
using Nerdbox.Api.Contract;
using Nerdbox.GuestAgent;
using Nerdbox.GuestAgent.Bundles;
using Nerdbox.GuestAgent.Channels;
using Nerdbox.GuestAgent.Init;
using Nerdbox.GuestAgent.Native;
using Nerdbox.GuestAgent.Server;
using Nerdbox.GuestAgent.Server.Grpc;
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

    var lifetime = new AgentLifetime();
    var bundles = new BundleStore(options.BundleRoot);
    var workloads = WorkloadTelemetry.Open(options);
    var methods = new GrpcMethodTable(new ServerSpans(), AgentChannels.MaxHostMessageBytes);
    AgentMethods.Bind(methods, new SystemService(options, timeline, lifetime), new BundleService(bundles),
        new TaskService(bundles, options, workloads), new TracesService());
    var server = AgentServer.Create(endpoint, methods, workloads, AgentLogger.Factory(isPid1), isPid1 ? null : AgentLog.Write);
    server.Start();
    timeline.ListenerReadyNs = BootClock.BootNs();
    if (isPid1) _ = Task.Run(() => KernelModules.LoadDeferred(AgentLog.Write));
    // As init this goes to the VM's console, which the shim quotes when a VM or a task fails.
    AgentLog.Write($"listening on {options.ChannelDescription}");
    if (!isPid1 && options.GenerateSpans > 0) _ = SpanGenerator.RunAsync(options.GenerateSpans, !options.GenerateUnpaced, AgentLog.Write);
    // A host process stops on SIGTERM or SIGINT as well; the VM's init is ended by a Shutdown call.
    using var sigterm = isPid1 ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; lifetime.Stop(); });
    using var sigint = isPid1 ? null : PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; lifetime.Stop(); });
    await lifetime.Stopping;
    await server.StopAsync(TimeSpan.FromSeconds(2));
}
catch (Exception e)
{
    AgentLog.Write("fatal: " + e);
    if (!isPid1) return 1;
}
if (isPid1) GuestInit.PowerOff();
return 0;
