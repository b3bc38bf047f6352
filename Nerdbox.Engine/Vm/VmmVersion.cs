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

    // A line of the cache: path, size, modification time (ticks), version line; tab-separated.
    private const int MaxCacheBytes = 64 * 1024;

    public static async Task<string> OfAsync(IVmBackend backend, string? cacheDirectory, CancellationToken ct)
    {
        switch (backend)
        {
            case QemuBackend qemu:
                var path = HostTools.Find(qemu.Binary);
                if (path is null) return "qemu (not found)";
                var key = Key(path);
                if (cacheDirectory is not null && key is not null && Cached(cacheDirectory, key) is { } known) return known;
                var r = await HostTools.RunAsync(path, ["--version"], timeout: TimeSpan.FromSeconds(10), ct: ct);
                if (r.ExitCode != 0 || r.Stdout.Split('\n')[0].Trim() is not { Length: > 0 } line) return "qemu (version unknown)";
                if (cacheDirectory is not null && key is not null) Remember(cacheDirectory, key, line);
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
            return $"{info.FullName}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}";
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The version recorded for <paramref name="key"/>, or null: a missing, oversized or foreign file is a miss.</summary>
    private static string? Cached(string cacheDirectory, string key)
    {
        var file = Path.Combine(cacheDirectory, CacheFile);
        try
        {
            var info = new FileInfo(file);
            if (!info.Exists || info.Length > MaxCacheBytes) return null;
            var prefix = key + "\t";
            foreach (var line in File.ReadLines(file))
                if (line.StartsWith(prefix, StringComparison.Ordinal) && line.Length > prefix.Length) return line[prefix.Length..];
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>Records the one current binary's line; written whole and renamed into place, so readers never see half a file.</summary>
    private static void Remember(string cacheDirectory, string key, string version)
    {
        if (version.Contains('\n') || version.Contains('\t')) return;
        try
        {
            Directory.CreateDirectory(cacheDirectory);
            var file = Path.Combine(cacheDirectory, CacheFile);
            var temp = file + "." + Environment.ProcessId + ".tmp";
            File.WriteAllText(temp, key + "\t" + version + "\n");
            File.Move(temp, file, overwrite: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
