using Nerdbox.Engine.Host;
using Nerdbox.Engine.Vm.Libkrun;
using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Engine.Vm;

/// <summary>
/// What a backend's VMM is, in one line, so that a trace says what it ran on. QEMU's line comes from running
/// <c>--version</c> (tens of ms, on the way to every boot), so it is kept in a cache directory with the binary's path,
/// size and modification time, and asked again only when one of those changed.
/// </summary>
public static class VmmVersion
{
    public const string CacheFile = "vmm-version";

    public static async Task<string> OfAsync(IVmBackend backend, string? cacheDirectory, CancellationToken ct)
    {
        switch (backend)
        {
            case QemuBackend qemu:
                var path = HostTools.Find(qemu.Binary);
                if (path is null) return "qemu (not found)";
                var key = Key(path);
                var kept = cacheDirectory is null || key is null ? null : Path.Combine(cacheDirectory, CacheFile);
                if (kept is not null && KeptAnswer.Read(kept, key!) is { } known) return known;
                var r = await HostTools.RunAsync(path, ["--version"], timeout: TimeSpan.FromSeconds(10), ct: ct);
                if (r.ExitCode != 0 || r.Stdout.Split('\n')[0].Trim() is not { Length: > 0 } line) return "qemu (version unknown)";
                if (kept is not null) Remember(kept, key!, line);
                return line;
            case LibkrunBackend:
                return LibkrunBackend.TryFindLibrary(out var name) ? "libkrun " + name : "libkrun (not found)";
            default:
                return backend.Name;
        }
    }

    private static string? Key(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return $"{path}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Keeps the line; it is only a shortcut, so a cache that cannot be written means asking again next time.</summary>
    private static void Remember(string file, string key, string version)
    {
        try { KeptAnswer.Write(file, key, version); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
