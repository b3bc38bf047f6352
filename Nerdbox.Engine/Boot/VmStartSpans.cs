using System.Diagnostics;
using Nerdbox.Api.System.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Relay;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// Explains the wait for the agent. Under <c>vm.WaitForAgent</c>, which runs from the VMM's machine
/// set-up to the agent's first reply, come the stretches that fill it, in order:
/// <c>vm.GuestEntry</c> (host: the VMM starts the guest until the kernel's clock starts),
/// <c>kernel.Boot</c> (guest: kernel start until /init runs; broken down from the kernel log by
/// <see cref="RecordKernel"/>), <c>agent.Start</c> (guest: the agent's mounts, modules, channel wait and
/// server start) and <c>vm.ChannelConnect</c> (host: the listener is up until the first reply arrives; under it
/// <c>agent.FirstRequest</c>, the guest setting up the connection until the first call reaches its handler).
/// So the wait carries as self time only what none of them explains. All are made after the fact,
/// with explicit times; guest stretches go out with the guest's spans.
/// </summary>
public static class VmStartSpans
{
    /// <param name="guestFrom">When the VMM had set the machine up and the wait began: where guest time starts.</param>
    /// <returns>The id of <c>agent.KernelModules</c>, which <see cref="RecordModules"/> fills later; null when it was not made.</returns>
    public static ActivitySpanId? Record(BootPhases p, DateTime guestFrom, Activity? wait, GuestSpanRelay? relay, ActivityTraceId traceId)
    {
        if (wait is null || p.KernelStarted is null || p.InitStarted is null || p.AgentListening is null) return null;
        HostSpan(wait, "vm.GuestEntry", guestFrom, p.KernelStarted.Value, p);
        var connect = HostSpan(wait, "vm.ChannelConnect", p.AgentListening.Value, p.FirstReply, p);
        if (relay is null) return null;
        var guest = new DerivedGuestSpans(traceId, p.GuestPointUncertainty, "guest boot clock");
        var agent = guest.Add("agent.Start", wait.SpanId, p.InitStarted.Value, p.AgentListening.Value);
        ActivitySpanId? modules = null;
        if (p.MountsDone is { } mounts && p.InitDone is { } init && p.ChannelFound is { } channel)
        {
            guest.Add("agent.Mounts", agent, p.InitStarted.Value, mounts);
            modules = guest.Add("agent.KernelModules", agent, mounts, init);
            // The reaper, options and span buffer, then the channel's device, which a virtio-serial VM has at once.
            guest.Add("agent.Setup", agent, init, channel);
            guest.Add("agent.ServerStart", agent, channel, p.AgentListening.Value);
        }
        if (connect is not null && p.FirstCallHandled is { } firstCall)
        {
            // The guest's side of the first round trip: HTTP/2 and gRPC set-up until the first call's handler runs.
            guest.Add("agent.FirstRequest", connect.SpanId, p.AgentListening.Value, firstCall);
        }
        relay.SubmitDerived(typeof(VmStartSpans).FullName!, guest.Spans);
        return modules;
    }

    /// <summary>
    /// The agent's module loads, read after the boot: those before it served as <c>agent.KernelModule.NAME</c> under
    /// <c>agent.KernelModules</c> (<paramref name="bootModules"/>), kept inside it; those it loaded once it listened
    /// under one <c>agent.KernelModulesDeferred</c> beside its first calls, under <paramref name="deferredParent"/>.
    /// </summary>
    public static int RecordModules(IReadOnlyList<ModuleLoad> loads, BootPhases p, ClockEstimate clock, ActivityTraceId traceId,
        ActivitySpanId? bootModules, ActivitySpanId deferredParent, GuestSpanRelay relay)
    {
        var guest = new DerivedGuestSpans(traceId, clock.Uncertainty, "guest boot clock");
        DateTime At(ulong bootNs) => clock.BootClockToHostUtc(bootNs);
        loads = [.. loads.Take(MaxModuleSpans)];
        if (bootModules is { } parent && p.MountsDone is { } from && p.InitDone is { } to)
            foreach (var load in loads.Where(l => !l.Deferred))
                guest.Add(SpanName(load), parent, Clamp(At(load.StartNs), from, to), Clamp(At(load.EndNs), from, to), Attributes(load));
        var deferred = loads.Where(l => l.Deferred).ToList();
        if (deferred.Count > 0 && deferredParent != default && p.AgentListening is { } listening)
        {
            // Not before the agent listened (it loads these only then), nor after they were read.
            var now = DateTime.UtcNow;
            DateTime Placed(ulong bootNs) => Clamp(At(bootNs), listening, now);
            var all = guest.Add("agent.KernelModulesDeferred", deferredParent, Placed(deferred.Min(l => l.StartNs)), Placed(deferred.Max(l => l.EndNs)));
            foreach (var load in deferred) guest.Add(SpanName(load), all, Placed(load.StartNs), Placed(load.EndNs), Attributes(load));
        }
        relay.SubmitDerived(typeof(VmStartSpans).FullName!, guest.Spans);
        return guest.Spans.Count;
    }

    // A guest loads a dozen modules; more are not believed.
    private const int MaxModuleSpans = 256;

    // The kernel's module names are shorter; the guest is not trusted.
    private const int MaxModuleName = 64;

    private static string ModuleName(ModuleLoad load) => load.Name.Length > MaxModuleName ? load.Name[..MaxModuleName] : load.Name;

    /// <summary>Module names are the kernel's (letters, digits, underscores); anything else in one becomes an underscore.</summary>
    private static string SpanName(ModuleLoad load) =>
        "agent.KernelModule." + new string([.. ModuleName(load).Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_')]);

    private static Dictionary<string, object> Attributes(ModuleLoad load)
    {
        var attributes = new Dictionary<string, object> { ["nerdbox.kernel.module"] = ModuleName(load) };
        if (load.Error.Length > 0) attributes["nerdbox.kernel.module.error"] = load.Error.Length > 256 ? load.Error[..256] : load.Error;
        return attributes;
    }

    /// <summary>
    /// The kernel's boot as guest spans under the wait span (<paramref name="waitSpanId"/>), from its own
    /// log: each phase placed on the host's clock through <paramref name="clock"/>, kept inside the
    /// kernel's stretch of the boot.
    /// </summary>
    public static int RecordKernel(KernelPhase kernel, BootPhases p, ClockEstimate clock, ActivityTraceId traceId, ActivitySpanId waitSpanId, GuestSpanRelay relay)
    {
        if (p.KernelStarted is not { } from || p.InitStarted is not { } to) return 0;
        var guest = new DerivedGuestSpans(traceId, clock.Uncertainty, "guest kernel log");
        DateTime At(long bootNs) => Clamp(clock.BootClockToHostUtc((ulong)Math.Max(0, bootNs)), from, to);
        void Add(KernelPhase phase, ActivitySpanId parent)
        {
            var id = guest.Add(phase.Name, parent, At(phase.StartNs), At(phase.EndNs), phase.Attributes);
            foreach (var child in phase.Children) Add(child, id);
        }
        // The whole stretch is the kernel's, as the boot phases have it, whatever the log's last record says.
        var root = guest.Add(kernel.Name, waitSpanId, from, to, kernel.Attributes);
        foreach (var child in kernel.Children) Add(child, root);
        relay.SubmitDerived(typeof(VmStartSpans).FullName!, guest.Spans);
        return guest.Spans.Count;
    }

    private static DateTime Clamp(DateTime t, DateTime from, DateTime to) => t < from ? from : t > to ? to : t;

    private static Activity? HostSpan(Activity parent, string name, DateTime start, DateTime end, BootPhases p)
    {
        var previous = Activity.Current;
        var span = ShimTracing.Source.StartActivity(name, ActivityKind.Internal, parent.Context, startTime: start);
        if (span is null) return null;
        span.SetTag("nerdbox.derived_from", "guest boot clock and host timestamps");
        span.SetTag("nerdbox.clock.uncertainty_ns", p.GuestPointUncertainty.Ticks * 100);
        span.SetEndTime(end < start ? start : end);
        span.Stop();
        // The span was started from a context, not an Activity, so Stop() cannot restore the current one.
        Activity.Current = previous;
        return span;
    }
}
