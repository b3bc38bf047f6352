using Nerdbox.Engine.Host;

namespace Nerdbox.Engine.GuestImage.Libsystemd;

/// <summary>
/// The guest's stand-in for crun's libsystemd (<c>libsystemd.c</c> beside this file; why, in its head), compiled at
/// image build. It takes the real library's place only when crun resolves every symbol against it; otherwise the image
/// keeps the real one, and the build says why.
/// </summary>
public static class LibsystemdStandIn
{
    public const string SonameFile = "libsystemd.so.0";

    /// <summary>The stand-in's sources in the source tree, which are inputs of the image (a tree without them builds without it).</summary>
    public static IReadOnlyList<string> Sources(string sourceRoot) =>
    [
        .. new[] { "libsystemd.c", "libsystemd.map" }.Select(f => Path.Combine(sourceRoot, "Nerdbox.Engine", "GuestImage", "Libsystemd", f)).Where(File.Exists),
    ];

    /// <summary>
    /// Compiles the stand-in into <paramref name="directory"/> and checks it against <paramref name="crun"/>: the directory
    /// holding it, or null with the reason the real library stays.
    /// </summary>
    public static async Task<(string? Directory, string? Reason)> BuildAsync(string sourceRoot, string crun, string directory, CancellationToken ct)
    {
        if (Sources(sourceRoot) is not [var source, var versions]) return (null, $"its sources are not in {sourceRoot}");
        if (HostTools.Find("gcc") is not { } gcc) return (null, "gcc is missing to compile it (apt-get install -y --no-install-recommends gcc)");
        Directory.CreateDirectory(directory);
        var output = Path.Combine(directory, SonameFile);
        var built = await HostTools.RunAsync(gcc, ["-shared", "-fPIC", "-O2", "-Wall", "-Werror", $"-Wl,--version-script={versions}",
            $"-Wl,-soname,{SonameFile}", "-Wl,-z,now", "-Wl,-z,relro", "-o", output, source], timeout: TimeSpan.FromMinutes(2), ct: ct);
        if (built.ExitCode != 0) return (null, $"it did not compile: {built.Output}");
        // ldd -r binds every symbol as the guest's loader would and names any that the stand-in lacks.
        var check = await HostTools.RunAsync("env", [$"LD_LIBRARY_PATH={directory}", "ldd", "-r", crun], ct: ct);
        if (check.ExitCode != 0 || check.Output.Contains("undefined symbol", StringComparison.Ordinal))
            return (null, $"crun needs what it does not define: {string.Join("; ", check.Output.Split('\n').Where(l => l.Contains("undefined symbol", StringComparison.Ordinal)).Take(5))}");
        return (directory, null);
    }
}
