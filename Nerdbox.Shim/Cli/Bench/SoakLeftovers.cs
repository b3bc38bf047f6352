using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>What a soak must not leave: VM state directories, VMM (or any child) processes, socket files besides the task API's.</summary>
internal sealed record Leftovers(IReadOnlyList<string> StateDirs, IReadOnlyList<string> Processes, IReadOnlyList<string> Sockets)
{
    public bool IsEmpty => StateDirs.Count == 0 && Processes.Count == 0 && Sockets.Count == 0;

    public string Describe() => IsEmpty ? "nothing (0 state dirs, 0 VMM/child processes, 0 sockets)" :
        $"{StateDirs.Count} state dir(s) [{string.Join(", ", StateDirs)}], {Processes.Count} process(es) [{string.Join(", ", Processes)}], {Sockets.Count} socket(s) [{string.Join(", ", Sockets)}]";

    /// <summary>What is left; <paramref name="taskApiSocket"/> counts only once the shim has stopped (while it serves, it is the shim's own).</summary>
    public static Leftovers Find(string stateRoot, int shimPid, string taskApiSocket, bool stopped)
    {
        var dirs = Directory.Exists(stateRoot) ? Directory.GetDirectories(stateRoot).Select(d => Path.GetFileName(d)).ToList() : [];
        var sockets = Directory.Exists(stateRoot) ? SocketsUnder(stateRoot) : [];
        if (stopped && File.Exists(taskApiSocket)) sockets.Add(taskApiSocket);
        var processes = new List<string>();
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out var pid) || pid == shimPid) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ').Trim();
                // A VMM names its state directory on its command line; any other child of the shim is one too many.
                if (cmdline.Contains(stateRoot, StringComparison.Ordinal) || ParentOf(proc) == shimPid)
                    processes.Add($"{pid} {(cmdline.Length > 60 ? cmdline[..60] + "..." : cmdline)}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException) { }
        }
        return new(dirs, processes, sockets);
    }

    /// <summary>Socket files under <paramref name="dir"/> (.NET does not say a file's type; find does).</summary>
    private static List<string> SocketsUnder(string dir)
    {
        var psi = new ProcessStartInfo("find", [dir, "-type", "s"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var find = Process.Start(psi)!;
        var output = find.StandardOutput.ReadToEnd();
        find.WaitForExit();
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static int ParentOf(string proc)
    {
        var stat = File.ReadAllText(Path.Combine(proc, "stat"));
        // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[1], CultureInfo.InvariantCulture);
    }
}
