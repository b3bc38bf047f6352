using System.Security.Cryptography;
using System.Text;
using Nerdbox.Engine.Host;

namespace Nerdbox.Engine.GuestImage;

/// <summary>
/// The optional guest kernel made for this VM: Debian's kernel source configured from <c>minimal-kernel.config</c>
/// over allnoconfig (what the guest uses built in, no modules), built once and cached beside the guest image by the
/// source package's version and the config. The image's initramfs serves it unchanged: the agent loads no modules
/// into a kernel without module support.
/// </summary>
public sealed class MinimalKernel(string cacheDirectory, Action<string> progress)
{
    public const string SourcePackage = "linux-source-6.1";

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(60);

    public static string Config { get; } = ReadConfig();

    private string Root => Path.Combine(cacheDirectory, "kernel-minimal");

    /// <summary>The built kernel for the source package already downloaded, or null.</summary>
    public string? TryLoadCached() =>
        ExistingSourceDeb() is { } deb && File.Exists(KernelPathFor(deb)) ? KernelPathFor(deb) : null;

    /// <summary>What the kernel was built from, for bench tables and the VM span.</summary>
    public string Describe(string kernelPath) => $"minimal ({SourcePackage} {Path.GetFileName(Path.GetDirectoryName(kernelPath))})";

    /// <summary>The kernel's path, building it first (minutes) when it is not cached.</summary>
    public async Task<string> EnsureAsync(CancellationToken ct)
    {
        if (TryLoadCached() is { } cached) return cached;
        HostPackages.Require(HostPackages.ForMinimalKernel);
        if (!File.Exists("/usr/include/libelf.h"))
            throw new GuestImageException("libelf's headers are missing (the kernel's objtool needs them); install them with: apt-get install -y --no-install-recommends libelf-dev");
        var deb = ExistingSourceDeb() ?? await DownloadSourceAsync(ct);
        var kernel = KernelPathFor(deb);
        var work = Path.Combine(Root, "build-" + Environment.ProcessId);
        if (Directory.Exists(work)) Directory.Delete(work, true);
        Directory.CreateDirectory(work);
        try
        {
            var started = DateTime.UtcNow;
            progress($"unpacking {Path.GetFileName(deb)}");
            await Run("dpkg-deb", ["-x", deb, Path.Combine(work, "package")], ct);
            var tarball = Directory.GetFiles(Path.Combine(work, "package", "usr", "src"), "linux-source-*.tar.xz").SingleOrDefault()
                ?? throw new GuestImageException($"{deb} has no /usr/src/linux-source-*.tar.xz");
            await Run("tar", ["-xf", tarball, "-C", work], ct);
            Directory.Delete(Path.Combine(work, "package"), true);
            var source = Directory.GetDirectories(work, "linux-source-*").Single();

            var fragment = Path.Combine(work, "minimal-kernel.config");
            await File.WriteAllTextAsync(fragment, Config, ct);
            await Run("make", ["-C", source, "-s", "allnoconfig", "KCONFIG_ALLCONFIG=" + fragment], ct);
            if (Dropped(Config, await File.ReadAllTextAsync(Path.Combine(source, ".config"), ct)) is { Count: > 0 } dropped)
                throw new GuestImageException($"the kernel's config dropped lines of minimal-kernel.config (a dependency is missing): {string.Join(", ", dropped)}");

            var jobs = Environment.ProcessorCount;
            progress($"building the minimal kernel with {jobs} jobs (several minutes; once per kernel source and config)");
            var compiled = 0;
            var lastReport = DateTime.UtcNow;
            // Niced: a build started beside running VMs (a test, a shim serving) must not slow them down.
            await Run("nice", ["-n", "19", "make", "-C", source, "-j" + jobs, "vmlinux"], ct, BuildTimeout, line =>
            {
                if (!line.TrimStart().StartsWith("CC ", StringComparison.Ordinal)) return;
                var n = Interlocked.Increment(ref compiled);
                if (DateTime.UtcNow - lastReport < TimeSpan.FromSeconds(30)) return;
                lastReport = DateTime.UtcNow;
                progress($"minimal kernel: {n} files compiled");
            });

            var directory = Path.GetDirectoryName(kernel)!;
            var staging = directory + ".tmp-" + Environment.ProcessId;
            Directory.CreateDirectory(staging);
            File.Copy(Path.Combine(source, "vmlinux"), Path.Combine(staging, "vmlinux"));
            File.Copy(Path.Combine(source, ".config"), Path.Combine(staging, "config"));
            if (Directory.Exists(directory)) Directory.Delete(directory, true);
            Directory.Move(staging, directory);
            progress($"minimal kernel ready: {kernel} ({new FileInfo(kernel).Length / 1048576} MiB), built in {(DateTime.UtcNow - started).TotalMinutes:0.0} min");
            return kernel;
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    /// <summary>The fragment's lines that the final .config does not hold (a "=n" holds when the option is unset or absent).</summary>
    public static IReadOnlyList<string> Dropped(string fragment, string config)
    {
        var set = config.Split('\n').Where(l => l.StartsWith("CONFIG_", StringComparison.Ordinal)).ToHashSet();
        return fragment.Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith("CONFIG_", StringComparison.Ordinal))
            .Where(l => l.EndsWith("=n", StringComparison.Ordinal) ? set.Any(s => s.StartsWith(l[..^1], StringComparison.Ordinal)) : !set.Contains(l))
            .ToList();
    }

    private string? ExistingSourceDeb()
    {
        var debs = Path.Combine(cacheDirectory, "debs");
        return Directory.Exists(debs) ? Directory.GetFiles(debs, SourcePackage + "_*.deb").OrderBy(f => f, StringComparer.Ordinal).LastOrDefault() : null;
    }

    /// <summary>kernel-minimal/VERSION-CONFIGHASH/vmlinux: a new source or config builds anew.</summary>
    private string KernelPathFor(string deb)
    {
        var version = Path.GetFileNameWithoutExtension(deb).Split('_')[1];
        var config = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Config)))[..12].ToLowerInvariant();
        return Path.Combine(Root, $"{version}-{config}", "vmlinux");
    }

    private async Task<string> DownloadSourceAsync(CancellationToken ct)
    {
        var debs = Path.Combine(cacheDirectory, "debs");
        Directory.CreateDirectory(debs);
        progress($"downloading {SourcePackage} (about 140 MB)");
        var r = await HostTools.RunAsync("apt-get", ["download", "-o", "Debug::NoLocking=1", SourcePackage], debs, TimeSpan.FromMinutes(20), ct: ct);
        return ExistingSourceDeb()
            ?? throw new GuestImageException($"apt-get download {SourcePackage} produced no .deb (exit {r.ExitCode}): {r.Output.Trim()}; run apt-get update first");
    }

    private static async Task Run(string program, string[] args, CancellationToken ct, TimeSpan? timeout = null, Action<string>? onLine = null)
    {
        var r = await HostTools.RunAsync(program, args, timeout: timeout ?? TimeSpan.FromMinutes(10), onLine: onLine, ct: ct);
        if (r.ExitCode != 0)
        {
            var tail = string.Join('\n', r.Output.Split('\n').TakeLast(30));
            throw new GuestImageException($"{string.Join(' ', args.Prepend(program).Take(4))} failed (exit {r.ExitCode}):\n{tail}");
        }
    }

    private static string ReadConfig()
    {
        using var stream = typeof(MinimalKernel).Assembly.GetManifestResourceStream("Nerdbox.Engine.GuestImage.minimal-kernel.config")
            ?? throw new InvalidOperationException("minimal-kernel.config is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
