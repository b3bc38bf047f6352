namespace Nerdbox.Api.Contract;

/// <summary>
/// Which agent RPCs get spans, on which side. Telemetry plumbing (the span stream, clock probes,
/// output) is traced on neither, as an exporter does not trace its own work. A few more are left
/// out by the guest only, each for the reason given.
/// </summary>
public static class TracedMethods
{
    private static readonly Dictionary<string, Side> Untraced = new()
    {
        ["/nerdbox.services.traces.v1.Traces/Stream"] = Side.Both,
        ["/nerdbox.services.system.v1.System/ProbeClock"] = Side.Both,
        // Read for the kernel's boot spans, after the boot: telemetry, not the task's work.
        ["/nerdbox.services.system.v1.System/KernelLog"] = Side.Both,
        // I/O plumbing that outlives the RPC that set it up.
        ["/nerdbox.services.task.v1.Task/Output"] = Side.Both,
        // Runs while the guest's spans are being collected; the host's client span records it.
        ["/nerdbox.services.traces.v1.Traces/Drain"] = Side.Guest,
        // A guest span would start on the old clock and end on the new one.
        ["/nerdbox.services.system.v1.System/SetTime"] = Side.Guest,
        // The guest powers off before its span could leave; the host's client span records it.
        ["/nerdbox.services.system.v1.System/Shutdown"] = Side.Guest,
    };

    [Flags]
    private enum Side { Host = 1, Guest = 2, Both = Host | Guest }

    /// <summary>Whether the shim makes a client span for <paramref name="method"/> (<c>/package.Service/Method</c>).</summary>
    public static bool TracedByHost(string method) => !(Untraced.TryGetValue(method, out var s) && s.HasFlag(Side.Host));

    /// <summary>Whether the agent makes a server span for <paramref name="method"/>.</summary>
    public static bool TracedByGuest(string method) => !(Untraced.TryGetValue(method, out var s) && s.HasFlag(Side.Guest));
}
