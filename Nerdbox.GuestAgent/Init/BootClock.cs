using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Init;

/// <summary>The guest's clocks: the boot clock (ns since the kernel started) and the wall clock.</summary>
internal static class BootClock
{
    public static ulong BootNs() => (ulong)Libc.ClockNs(Libc.CLOCK_BOOTTIME);

    public static ulong WallNs() => (ulong)Libc.ClockNs(Libc.CLOCK_REALTIME);

    public static unsafe bool TrySetWall(ulong unixNs, out string error)
    {
        var ts = new Libc.Timespec { Seconds = (long)(unixNs / 1_000_000_000), Nanoseconds = (long)(unixNs % 1_000_000_000) };
        if (Libc.ClockSetTime(Libc.CLOCK_REALTIME, &ts) == 0)
        {
            error = "";
            return true;
        }
        error = Libc.LastErrorText();
        return false;
    }
}

/// <summary>Start-up points of the agent on the boot clock, reported to the host by System.Info.</summary>
internal sealed class BootTimeline
{
    public ulong InitStartedNs;
    public ulong MountsDoneNs;
    public ulong InitDoneNs;
    public ulong ChannelFoundNs;
    public ulong ListenerReadyNs;

    /// <summary>When the first RPC reached its handler: the end of the first connection's set-up in the guest.</summary>
    public ulong FirstCallNs;

    /// <summary>Records the first call's time once; later calls leave it.</summary>
    public void MarkCall()
    {
        if (Volatile.Read(ref FirstCallNs) == 0) Interlocked.CompareExchange(ref FirstCallNs, BootClock.BootNs(), 0);
    }
}
