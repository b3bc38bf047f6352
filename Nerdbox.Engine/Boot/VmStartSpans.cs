using System.Diagnostics;
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
    public static void Record(BootPhases p, DateTime guestFrom, Activity? wait, GuestSpanRelay? relay, ActivityTraceId traceId)
    {
        if (wait is null || p.KernelStarted is null || p.InitStarted is null || p.AgentListening is null) return;
        HostSpan(wait, "vm.GuestEntry", guestFrom, p.KernelStarted.Value, p);
        var connect = HostSpan(wait, "vm.ChannelConnect", p.AgentListening.Value, p.FirstReply, p);
        if (relay is null) return;
        var guest = new DerivedGuestSpans(traceId, p.GuestPointUncertainty, "guest boot clock");
        var agent = guest.Add("agent.Start", wait.SpanId, p.InitStarted.Value, p.AgentListening.Value);
        if (p.MountsDone is { } mounts && p.InitDone is { } init && p.ChannelFound is { } channel)
        {
            guest.Add("agent.Mounts", agent, p.InitStarted.Value, mounts);
            guest.Add("agent.KernelModules", agent, mounts, init);
            guest.Add("agent.ChannelWait", agent, init, channel);
            guest.Add("agent.ServerStart", agent, channel, p.AgentListening.Value);
        }
        if (connect is not null && p.FirstCallHandled is { } firstCall)
        {
            // The guest's side of the first round trip: HTTP/2 and gRPC set-up until the first call's handler runs.
            guest.Add("agent.FirstRequest", connect.SpanId, p.AgentListening.Value, firstCall);
        }
        relay.SubmitDerived(typeof(VmStartSpans).FullName!, guest.Spans);
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
