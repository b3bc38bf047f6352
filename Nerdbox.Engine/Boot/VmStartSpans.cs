using System.Diagnostics;
using Nerdbox.Engine.Tasks;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// Breaks the VM's start into spans from the boot phases: VMM set-up, kernel boot until /init,
/// the agent's start until its listener is ready, and the channel's first round trip. They are
/// made after the fact, with explicit times, as children of the boot span.
/// </summary>
public static class VmStartSpans
{
    public static void Record(BootPhases p, Activity? parent)
    {
        if (parent is null || p.KernelStarted is null || p.InitStarted is null || p.AgentListening is null) return;
        Span(parent, "vm.VMMSpawn", p.VmmSpawned, p.KernelStarted.Value, p);
        Span(parent, "vm.KernelBoot", p.KernelStarted.Value, p.InitStarted.Value, p);
        var agent = Span(parent, "vm.AgentStart", p.InitStarted.Value, p.AgentListening.Value, p);
        if (agent is not null && p.MountsDone is { } mounts && p.InitDone is { } init && p.ChannelFound is { } channel)
        {
            // The agent's own start-up, as its boot-clock timeline reports it.
            Span(agent, "guest.Mounts", p.InitStarted.Value, mounts, p);
            Span(agent, "guest.KernelModules", mounts, init, p);
            Span(agent, "guest.ChannelWait", init, channel, p);
            Span(agent, "guest.ServerStart", channel, p.AgentListening.Value, p);
        }
        Span(parent, "vm.ChannelConnect", p.AgentListening.Value, p.FirstReply, p);
    }

    private static Activity? Span(Activity parent, string name, DateTime start, DateTime end, BootPhases p)
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
