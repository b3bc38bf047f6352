using System.Globalization;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>The shim's open fds (by kind), threads and resident memory, from /proc.</summary>
internal sealed record ShimFigures(int Fds, int Threads, double RssMib, string FdKinds, IReadOnlySet<string> FdTargets)
{
    /// <summary>Assemblies (and their symbols, for a stack trace) the runtime opened: once each, on the first use of a code path, and kept for the process's life.</summary>
    public int AssemblyFds => FdTargets.Count(IsAssembly);

    public static bool IsAssembly(string target) => target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".pdb", StringComparison.Ordinal);

    /// <summary>The figures right after a full GC in the shim, so that RSS is memory held, not garbage not yet collected.</summary>
    public static ShimFigures Read(int pid)
    {
        FullGc.Run(pid);
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var targets = new HashSet<string>(StringComparer.Ordinal);
        var fds = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            string? target;
            try { target = new FileInfo(fd).LinkTarget; }
            catch (IOException) { continue; } // closed while listing
            fds++;
            if (target is not null) targets.Add($"{Path.GetFileName(fd)} {target}");
            var kind = target switch
            {
                null => "?",
                _ when IsAssembly(target) => "assembly",
                _ when target.StartsWith("socket:", StringComparison.Ordinal) => "socket",
                _ when target.StartsWith("pipe:", StringComparison.Ordinal) => "pipe",
                _ when target.StartsWith("anon_inode:", StringComparison.Ordinal) => target["anon_inode:".Length..].Trim('[', ']'),
                _ when target.StartsWith("/dev/", StringComparison.Ordinal) => "dev",
                _ => "file",
            };
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        int threads = 0;
        long rssKib = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal)) threads = int.Parse(line[8..].Trim(), CultureInfo.InvariantCulture);
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rssKib = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        return new(fds, threads, rssKib / 1024.0, string.Join(" ", kinds.Select(k => $"{k.Key} {k.Value}")), targets);
    }
}

/// <summary>
/// A full, blocking GC in another .NET process: an EventPipe session that enables the runtime's GCHeapCollect
/// keyword makes it collect at once (as dotnet-gcdump does), without any code in the shim for it.
/// </summary>
internal static class FullGc
{
    private const long GcKeyword = 0x1, GcHeapCollectKeyword = 0x800000;

    public static void Run(int pid)
    {
        try
        {
            using var session = new Microsoft.Diagnostics.NETCore.Client.DiagnosticsClient(pid).StartEventPipeSession(
                new Microsoft.Diagnostics.NETCore.Client.EventPipeProvider("Microsoft-Windows-DotNETRuntime",
                    System.Diagnostics.Tracing.EventLevel.Informational, GcKeyword | GcHeapCollectKeyword), requestRundown: false);
            // Drain the session's events (unread, they would stall it) while the GC runs.
            var drain = System.Threading.Tasks.Task.Run(() => session.EventStream.CopyTo(Stream.Null));
            Thread.Sleep(TimeSpan.FromSeconds(2));
            session.Stop();
            drain.Wait(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is Microsoft.Diagnostics.NETCore.Client.ServerNotAvailableException or IOException or TimeoutException or AggregateException)
        {
            Console.Error.WriteLine($"nerdbox: no full GC in the shim before reading its memory: {e.Message}");
        }
    }
}
