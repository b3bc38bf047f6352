using System.Diagnostics;

namespace Nerdbox.Engine.Vm;

/// <summary>
/// VM state directories: <c>ROOT/ID</c> with the VMM's sockets, console log, disks and pid file.
/// A shim that died leaves its VMs' directories behind; <see cref="ReapStale"/> stops their
/// VMMs and removes them.
/// </summary>
public static class StateDirectories
{
    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable("NERDBOX_STATE_DIR") is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "nerdbox", "vms");

    public static void Remove(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException) { /* retried by ReapStale */ }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Kills VMMs whose shim is gone (their pid file names a live VMM, the owner pid is dead) and removes the directories.</summary>
    public static int ReapStale(string root)
    {
        if (!Directory.Exists(root)) return 0;
        var reaped = 0;
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            var ownerFile = Path.Combine(dir, "owner.pid");
            if (File.Exists(ownerFile) && int.TryParse(File.ReadAllText(ownerFile).Trim(), out var owner) && IsAlive(owner)) continue;
            var vmmFile = Path.Combine(dir, "vmm.pid");
            // Only a process whose command line names this directory is the VMM (pids get reused).
            if (File.Exists(vmmFile) && int.TryParse(File.ReadAllText(vmmFile).Trim(), out var vmm) && IsAlive(vmm) && CommandLineMentions(vmm, dir))
            {
                try { using var p = Process.GetProcessById(vmm); p.Kill(); p.WaitForExit(5000); } catch (Exception) { }
            }
            Remove(dir);
            reaped++;
        }
        return reaped;
    }

    private static bool CommandLineMentions(int pid, string text)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Contains(text, StringComparison.Ordinal); }
        catch (IOException) { return false; }
    }

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");
}
