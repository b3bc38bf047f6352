using Nerdbox.Engine.Vm.Guard;

namespace Nerdbox.Engine.Vm;

/// <summary>
/// VM state directories: <c>ROOT/ID</c> with the VMM's sockets, console log, disks and pid files
/// (<c>owner.pid</c>: the shim that made it; <c>vmm.pid</c> and <c>guard.pid</c>: see <see cref="GuardedVmm"/>).
/// A shim that died leaves its VMs' directories behind; <see cref="ReapStale"/> stops what still runs
/// there and removes them, saying what it removed.
/// </summary>
public static class StateDirectories
{
    public const string OwnerFile = "owner.pid";

    /// <summary>A directory without a readable owner file is taken for a live shim's until it is this old (the owner file follows its directory at once).</summary>
    private static readonly TimeSpan OwnerlessGrace = TimeSpan.FromSeconds(60);

    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable("NERDBOX_STATE_DIR") is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "nerdbox", "vms");

    /// <summary>Makes <paramref name="directory"/> (if need be) and marks this shim as its owner.</summary>
    public static void Create(string directory)
    {
        Directory.CreateDirectory(directory);
        var owner = Path.Combine(directory, OwnerFile);
        if (!File.Exists(owner)) File.WriteAllText(owner, ProcessIdentity.Current().ToString());
    }

    public static void Remove(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException) { /* retried by ReapStale */ }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// For each directory under <paramref name="root"/> whose shim is gone: kills its VMM and guard if they
    /// still run, removes the directory, and reports each of those on <paramref name="log"/>, one line each.
    /// Returns how many directories it removed.
    /// </summary>
    public static int ReapStale(string root, Action<string>? log = null)
    {
        if (!Directory.Exists(root)) return 0;
        log ??= _ => { };
        var reaped = 0;
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            if (OwnerOf(dir) is not { } owner) continue;
            var id = Path.GetFileName(dir);
            var whose = owner.Pid > 0 ? $"left by shim pid {owner.Pid}, which is gone" : "left by a shim that died before it marked it";
            // The VMM first: its guard then ends by itself.
            if (ReadPid(dir, GuardedVmm.VmmPidFile) is { } vmm && ProcessIdentity.CommandLine(vmm).Contains(dir, StringComparison.Ordinal))
                Kill(vmm, $"killed stale VMM pid {vmm} ({ProcessIdentity.Name(vmm)}) of VM '{id}', {whose}", log);
            if (ReadPid(dir, GuardedVmm.GuardPidFile) is { } guard && IsGuardOf(guard, dir))
                Kill(guard, $"killed stale VMM guard pid {guard} of VM '{id}', {whose}", log);
            foreach (var socket in Sockets(dir)) log($"removed stale socket {socket}");
            Remove(dir);
            if (Directory.Exists(dir))
            {
                log($"could not remove stale state directory {dir}");
                continue;
            }
            log($"removed stale state directory {dir} of VM '{id}', {whose}");
            reaped++;
        }
        return reaped;
    }

    /// <summary>The dead owner of a stale directory, or null when the directory is live (its shim runs, or it is being made).</summary>
    private static ProcessIdentity? OwnerOf(string dir)
    {
        var ownerFile = Path.Combine(dir, OwnerFile);
        string? text = null;
        try { text = File.ReadAllText(ownerFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        // No owner yet, or one being written: the directory's shim may be making it right now.
        if (text is null || ProcessIdentity.Parse(text) is not { } owner)
            return DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) > OwnerlessGrace ? new ProcessIdentity(0, 0) : null;
        return owner.IsAlive() ? null : owner;
    }

    private static bool IsGuardOf(int pid, string dir) =>
        ProcessIdentity.CommandLine(pid).Contains(GuardedVmm.GuardName, StringComparison.Ordinal)
        && ProcessIdentity.StartEnvironment(pid).Contains(Path.Combine(dir, GuardedVmm.VmmPidFile), StringComparison.Ordinal);

    private static void Kill(int pid, string line, Action<string> log)
    {
        if (Native.Libc.Kill(pid, Native.Libc.SIGKILL) != 0) return;
        // Gone, or a zombie waiting for a parent that is not this shim: either way it no longer runs.
        for (var i = 0; i < 500 && ProcessIdentity.IsRunning(pid); i++) Thread.Sleep(10);
        log(line);
    }

    private static int? ReadPid(string dir, string file)
    {
        try { return int.TryParse(File.ReadAllText(Path.Combine(dir, file)).Trim(), out var pid) && pid > 0 ? pid : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The unix sockets a VMM made in its directory (the agent channel's host end).</summary>
    private static IEnumerable<string> Sockets(string dir)
    {
        try { return Directory.EnumerateFiles(dir, "*.sock", SearchOption.AllDirectories).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}
