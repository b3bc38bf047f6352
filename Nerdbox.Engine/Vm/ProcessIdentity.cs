using System.Globalization;

namespace Nerdbox.Engine.Vm;

/// <summary>
/// A process as a pid and its start time (in clock ticks since boot, from <c>/proc/PID/stat</c>): a pid
/// alone may since have been given to another process; the pair names one process for as long as the host runs.
/// </summary>
public sealed record ProcessIdentity(int Pid, long StartTicks)
{
    public static ProcessIdentity Current() => new(Environment.ProcessId, StartTicksOf(Environment.ProcessId) ?? 0);

    public override string ToString() => $"{Pid} {StartTicks}";

    /// <summary>Reads "PID START" (or a bare pid, as older shims wrote); null when it is neither.</summary>
    public static ProcessIdentity? Parse(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length is < 1 or > 2 || !int.TryParse(parts[0], out var pid) || pid <= 0) return null;
        long start = 0;
        if (parts.Length == 2 && !long.TryParse(parts[1], out start)) return null;
        return new ProcessIdentity(pid, start);
    }

    /// <summary>Whether this very process still runs (a start time of 0 matches any process with the pid).</summary>
    public bool IsAlive() => IsRunning(Pid) && (StartTicks == 0 || StartTicksOf(Pid) == StartTicks);

    /// <summary>Whether <paramref name="pid"/> is a process that has not ended (a zombie has).</summary>
    public static bool IsRunning(int pid) => Stat(pid) is { } stat && stat.State != 'Z' && stat.State != 'X';

    public static long? StartTicksOf(int pid) => Stat(pid)?.StartTicks;

    /// <summary>
    /// What the process has used so far, each part null when it cannot be read: its CPU time (user and system, over all
    /// its threads; <c>/proc</c> counts it in USER_HZ ticks, 100 a second on Linux), the part of it spent in the kernel
    /// on its behalf (for a VMM mostly page faults, memory first touched, and device I/O), and its anonymous resident
    /// memory (<c>RssAnon</c>) in MiB: for a VMM the guest RAM and translated code it has touched, not the files it maps.
    /// </summary>
    public static ProcessUsage UsageOf(int pid)
    {
        var ticks = CpuTicks(pid);
        return new ProcessUsage(
            ticks is { } t ? TimeSpan.FromMilliseconds((t.User + t.System) * 10.0) : null,
            ticks is { } s ? TimeSpan.FromMilliseconds(s.System * 10.0) : null,
            AnonymousResidentMibOf(pid));
    }

    private static (long User, long System)? CpuTicks(int pid)
    {
        // After comm: utime and stime are fields 14 and 15 of the whole line.
        if (StatFields(pid) is not { } fields || fields.Length < 13 || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system)) return null;
        return (user, system);
    }

    private static double? AnonymousResidentMibOf(int pid)
    {
        foreach (var line in ReadProc(pid, "status").Split('\n'))
        {
            if (!line.StartsWith("RssAnon:", StringComparison.Ordinal)) continue;
            var kib = line["RssAnon:".Length..].Trim().Split(' ')[0];
            return long.TryParse(kib, NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? Math.Round(k / 1024.0, 1) : null;
        }
        return null;
    }

    /// <summary>The process's command line, arguments joined by spaces; empty when it cannot be read.</summary>
    public static string CommandLine(int pid) => ReadProc(pid, "cmdline").Replace('\0', ' ').Trim();

    /// <summary>The environment the process started with, one variable per line; empty when it cannot be read.</summary>
    public static string StartEnvironment(int pid) => ReadProc(pid, "environ").Replace('\0', '\n');

    /// <summary>The process's short name (<c>comm</c>).</summary>
    public static string Name(int pid) => ReadProc(pid, "comm").Trim();

    private static (char State, long StartTicks)? Stat(int pid)
    {
        // After comm: state is field 3 of the whole line, starttime field 22.
        if (StatFields(pid) is not { } fields || fields.Length < 20 || fields[0].Length != 1) return null;
        return long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? (fields[0][0], start) : null;
    }

    /// <summary>The fields of <c>/proc/PID/stat</c> after comm; null when it cannot be read.</summary>
    private static string[]? StatFields(int pid)
    {
        // "pid (comm) state ppid ..." with comm free to hold spaces and parentheses: fields count from the last ')'.
        var text = ReadProc(pid, "stat");
        var close = text.LastIndexOf(')');
        return close < 0 ? null : text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    private static string ReadProc(int pid, string file)
    {
        try { return File.ReadAllText($"/proc/{pid}/{file}"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}

/// <summary>What a process has used so far (<see cref="ProcessIdentity.UsageOf"/>); each part null when it could not be read.</summary>
public sealed record ProcessUsage(TimeSpan? Cpu, TimeSpan? SystemCpu, double? AnonMib);
