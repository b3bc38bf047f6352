using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Nerdbox.Engine.GuestImage.Libsystemd;
using Nerdbox.Engine.Host;

namespace Nerdbox.Engine.GuestImage;

/// <summary>The built guest image: an uncompressed kernel and an initramfs whose /init is the agent.</summary>
public sealed record GuestImageFiles(string Directory, string KernelPath, string InitrdPath, string InputsHash, string KernelPackage)
{
    /// <summary>The agent binary that is the initramfs's /init, kept beside it to run on the host (benchmarks, tests).</summary>
    public string AgentPath => Path.Combine(Directory, "nerdbox-agent");
}

/// <summary>
/// Builds the guest image from Debian packages and the project's own agent: the cloud kernel
/// (unpacked to ELF for PVH), the modules the guest needs, busybox, crun and its libraries, and
/// the NativeAOT agent as /init. The result is cached under <see cref="DefaultCacheDirectory"/>
/// and rebuilt only when an input changed (agent sources, kernel package, crun, busybox).
/// </summary>
public sealed class GuestImageBuilder(string cacheDirectory, Action<string> progress)
{
    /// <summary>Bump when the image's layout changes, so that old caches rebuild.</summary>
    private const int LayoutVersion = 3;

    public const string KernelMetaPackage = "linux-image-cloud-amd64";

    public static string DefaultCacheDirectory =>
        Environment.GetEnvironmentVariable("NERDBOX_IMAGE_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "nerdbox", "guest-image");

    private string CurrentDirectory => Path.Combine(cacheDirectory, "current");

    /// <summary>The cached image if it exists, without checking whether inputs changed (for health checks).</summary>
    public GuestImageFiles? TryLoadCached()
    {
        var manifest = Path.Combine(CurrentDirectory, "manifest.json");
        if (!File.Exists(manifest)) return null;
        try
        {
            var m = JsonSerializer.Deserialize(File.ReadAllText(manifest), ManifestJson.Default.Manifest);
            var files = new GuestImageFiles(CurrentDirectory, Path.Combine(CurrentDirectory, "vmlinux"), Path.Combine(CurrentDirectory, "initrd.cpio"), m!.InputsHash, m.KernelPackage);
            return File.Exists(files.KernelPath) && File.Exists(files.InitrdPath) ? files : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>Returns an up-to-date image, building it first when an input changed.</summary>
    public async Task<GuestImageFiles> EnsureAsync(CancellationToken ct = default)
    {
        HostPackages.Require(HostPackages.ForImage);
        var sourceRoot = SourceTree.FindRoot()
            ?? throw new GuestImageException("cannot find the Nerdbox source tree (Nerdbox.sln) to build the guest agent; set NERDBOX_SOURCE_ROOT");
        // Reading the cached image's manifest does not wait for the inputs to be described.
        var loading = Task.Run(TryLoadCached, ct);
        var kernelPackage = await ResolveKernelPackageAsync(ct);
        var inputFiles = InputFiles(sourceRoot);
        var seen = InputsSeen.Describe(kernelPackage, inputFiles);
        var cached = await loading;
        if (cached is not null && InputsSeen.Match(CurrentDirectory, seen)) return cached;
        var inputs = HashInputs(kernelPackage, inputFiles);
        if (cached is not null && cached.InputsHash == inputs)
        {
            InputsSeen.Record(CurrentDirectory, seen);
            return cached;
        }

        progress($"building the guest image (inputs {inputs[..12]}) in {cacheDirectory}");
        Directory.CreateDirectory(cacheDirectory);
        var work = Path.Combine(cacheDirectory, "build-" + Environment.ProcessId);
        if (Directory.Exists(work)) Directory.Delete(work, true);
        Directory.CreateDirectory(work);
        try
        {
            var agent = await PublishAgentAsync(sourceRoot, Path.Combine(work, "agent"), ct);
            var deb = await DownloadKernelAsync(kernelPackage, ct);
            progress($"unpacking {Path.GetFileName(deb)}");
            var kernelTree = Path.Combine(work, "kernel");
            await Run("dpkg-deb", ["-x", deb, kernelTree], ct);
            var vmlinuz = Directory.GetFiles(Path.Combine(kernelTree, "boot"), "vmlinuz-*").FirstOrDefault()
                ?? throw new GuestImageException($"{deb} has no /boot/vmlinuz-*");
            var output = Path.Combine(work, "out");
            Directory.CreateDirectory(output);
            progress("extracting the uncompressed kernel for PVH boot");
            await KernelExtractor.ExtractElfAsync(vmlinuz, Path.Combine(output, "vmlinux"), ct);
            var modulesDir = Directory.GetDirectories(Path.Combine(kernelTree, "lib", "modules")).Single();
            progress("writing the initramfs");
            await WriteInitramfsAsync(Path.Combine(output, "initrd.cpio"), agent, modulesDir, sourceRoot, Path.Combine(work, "libsystemd"), ct);
            File.Copy(agent, Path.Combine(output, "nerdbox-agent"));
            var manifest = new Manifest(inputs, kernelPackage, DateTime.UtcNow.ToString("O"));
            File.WriteAllText(Path.Combine(output, "manifest.json"), JsonSerializer.Serialize(manifest, ManifestJson.Default.Manifest));
            InputsSeen.Record(output, seen);

            // Swap in the new image whole, so a reader never sees half of one.
            var old = CurrentDirectory + ".old-" + Environment.ProcessId;
            if (Directory.Exists(CurrentDirectory)) Directory.Move(CurrentDirectory, old);
            Directory.Move(output, CurrentDirectory);
            if (Directory.Exists(old)) Directory.Delete(old, true);
            var files = TryLoadCached() ?? throw new GuestImageException("the image was built but cannot be read back");
            progress($"guest image ready: {files.KernelPath} ({new FileInfo(files.KernelPath).Length / 1048576} MiB), {files.InitrdPath} ({new FileInfo(files.InitrdPath).Length / 1048576} MiB)");
            return files;
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The kernel package the meta-package depends on now. Asking apt costs seconds on a busy host and
    /// is on every run's path, so the answer is kept with the state of apt's lists it came from
    /// (<see cref="AptState"/>) and asked again only when they changed.
    /// </summary>
    private async Task<string> ResolveKernelPackageAsync(CancellationToken ct)
    {
        var remembered = Path.Combine(cacheDirectory, "kernel-package");
        var state = AptState();
        if (KeptAnswer.Read(remembered, state) is { } package && package.StartsWith("linux-image-", StringComparison.Ordinal) && !package.Contains('/'))
            return package;
        var resolved = await AskAptForKernelPackageAsync(ct);
        KeptAnswer.Write(remembered, state, resolved);
        return resolved;
    }

    /// <summary>
    /// What apt's answer depends on: its package lists (replaced by apt-get update, which changes the
    /// folder) and the installed packages. Modification times to the tick, and the lists' count.
    /// </summary>
    private static string AptState()
    {
        static string Stamp(string path) => Directory.Exists(path) || File.Exists(path) ? File.GetLastWriteTimeUtc(path).Ticks.ToString() : "-";
        var lists = "/var/lib/apt/lists";
        var count = Directory.Exists(lists) ? Directory.EnumerateFiles(lists).Count() : 0;
        return $"{Stamp(lists)}/{count}/{Stamp("/var/lib/dpkg/status")}/{Stamp("/etc/apt/sources.list")}/{Stamp("/etc/apt/sources.list.d")}";
    }

    private async Task<string> AskAptForKernelPackageAsync(CancellationToken ct)
    {
        var r = await HostTools.RunAsync("apt-cache", ["depends", KernelMetaPackage], timeout: TimeSpan.FromSeconds(60), ct: ct);
        var line = r.Stdout.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Depends: linux-image-", StringComparison.Ordinal));
        if (r.ExitCode != 0 || line is null)
            throw new GuestImageException($"apt does not know {KernelMetaPackage} ({r.Output.Split('\n')[0]}); run: apt-get update");
        return line["Depends: ".Length..].Trim();
    }

    private async Task<string> DownloadKernelAsync(string package, CancellationToken ct)
    {
        var debs = Path.Combine(cacheDirectory, "debs");
        Directory.CreateDirectory(debs);
        var existing = Directory.GetFiles(debs, package + "_*.deb").FirstOrDefault();
        if (existing is not null) return existing;
        progress($"downloading {package} (about 26 MB)");
        var r = await Run("apt-get", ["download", "-o", "Debug::NoLocking=1", package], ct, debs);
        return Directory.GetFiles(debs, package + "_*.deb").FirstOrDefault()
            ?? throw new GuestImageException($"apt-get download {package} produced no .deb: {r.Output}");
    }

    private async Task<string> PublishAgentAsync(string sourceRoot, string output, CancellationToken ct)
    {
        progress("publishing the guest agent (NativeAOT, about a minute the first time)");
        var project = Path.Combine(sourceRoot, "Nerdbox.GuestAgent", "Nerdbox.GuestAgent.csproj");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var r = await HostTools.RunAsync(dotnet, ["publish", project, "-c", "Release", "-r", "linux-x64", "-o", output, "-nologo", "-v", "q"],
            timeout: TimeSpan.FromMinutes(15), ct: ct);
        var binary = Path.Combine(output, "nerdbox-agent");
        if (r.ExitCode != 0 || !File.Exists(binary))
            throw new GuestImageException($"publishing the guest agent failed (exit {r.ExitCode}):\n{Tail(r.Output, 40)}");
        return binary;
    }

    private async Task WriteInitramfsAsync(string path, string agent, string modulesDir, string sourceRoot, string standInDirectory, CancellationToken ct)
    {
        var crun = HostTools.Find("crun")!;
        var busybox = HostTools.Find("busybox")!;
        // The guest's path of each library, and the host file that goes there.
        var libraries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var crunLibraries = (await SharedLibrariesAsync(crun, ct)).ToList();
        var real = crunLibraries.FirstOrDefault(l => Path.GetFileName(l) == LibsystemdStandIn.SonameFile);
        var (standIn, keptBecause) = real is null ? (null, null) : await LibsystemdStandIn.BuildAsync(sourceRoot, crun, standInDirectory, ct);
        if (keptBecause is not null) progress($"crun keeps the real {LibsystemdStandIn.SonameFile}: {keptBecause}");
        if (standIn is null)
            foreach (var lib in crunLibraries) libraries.TryAdd(lib, lib);
        else
        {
            // crun's libraries as the stand-in leaves them: its file at the real library's path, and none of the real one's dependencies.
            foreach (var lib in await SharedLibrariesAsync(crun, ct, standIn))
                libraries.TryAdd(lib.StartsWith(standIn + "/", StringComparison.Ordinal) ? real! : lib, lib);
        }
        foreach (var binary in new[] { busybox, agent })
            foreach (var lib in await SharedLibrariesAsync(binary, ct)) libraries.TryAdd(lib, lib);
        var modules = ModuleResolver.Resolve(modulesDir, ModuleResolver.Wanted);

        await using var fs = File.Create(path);
        using var cpio = new CpioWriter(fs);
        var made = new HashSet<string>();
        void Dirs(string file)
        {
            var parts = file.Trim('/').Split('/');
            for (var i = 1; i < parts.Length; i++)
            {
                var d = string.Join('/', parts[..i]);
                if (made.Add(d)) cpio.Directory(d);
            }
        }

        foreach (var d in new[] { "dev", "proc", "sys", "run", "tmp", "etc", "bin", "usr/bin", "lib/modules" }) Dirs(d + "/x");
        cpio.CharDevice("dev/console", 5, 1);
        cpio.CharDevice("dev/null", 1, 3, 0x1B6);
        cpio.File("init", await File.ReadAllBytesAsync(agent, ct));
        cpio.File("bin/busybox", await File.ReadAllBytesAsync(busybox, ct));
        cpio.Symlink("bin/sh", "busybox");
        cpio.File("usr/bin/crun", await File.ReadAllBytesAsync(crun, ct));
        cpio.File("etc/passwd", "root:x:0:0:root:/:/bin/sh\n"u8.ToArray(), 0x1A4);
        cpio.File("etc/group", "root:x:0:\n"u8.ToArray(), 0x1A4);
        foreach (var (lib, file) in libraries)
        {
            Dirs(lib);
            cpio.File(lib.TrimStart('/'), await File.ReadAllBytesAsync(file, ct));
        }
        var order = new StringBuilder();
        foreach (var m in modules)
        {
            var target = "lib/modules/" + Path.GetFileName(m);
            cpio.File(target, ModuleSignature.Strip(await File.ReadAllBytesAsync(Path.Combine(modulesDir, m), ct), m), 0x1A4);
            order.Append('/').Append(target).Append('\n');
        }
        cpio.File("lib/modules/nerdbox.order", Encoding.ASCII.GetBytes(order.ToString()), 0x1A4);
    }

    /// <summary>The shared libraries a binary loads (ldd), including the dynamic loader; those in <paramref name="firstDirectory"/> are found first.</summary>
    private static async Task<IEnumerable<string>> SharedLibrariesAsync(string binary, CancellationToken ct, string? firstDirectory = null)
    {
        var r = firstDirectory is null
            ? await HostTools.RunAsync("ldd", [binary], ct: ct)
            : await HostTools.RunAsync("env", [$"LD_LIBRARY_PATH={firstDirectory}", "ldd", binary], ct: ct);
        if (r.Output.Contains("not a dynamic executable")) return [];
        var libs = new List<string>();
        foreach (var raw in r.Stdout.Split('\n'))
        {
            var line = raw.Trim();
            var arrow = line.IndexOf("=> ", StringComparison.Ordinal);
            var path = (arrow >= 0 ? line[(arrow + 3)..] : line).Split(' ')[0];
            if (path.StartsWith('/') && File.Exists(path)) libs.Add(path);
        }
        return libs;
    }

    /// <summary>The files the image is made from: the agent's sources and the host programs copied into it, each with its label.</summary>
    private static IReadOnlyList<(string Label, string Path)> InputFiles(string sourceRoot) =>
    [
        .. SourceTree.AgentInputs(sourceRoot).Select(f => (Path.GetRelativePath(sourceRoot, f), f)),
        .. LibsystemdStandIn.Sources(sourceRoot).Select(f => (Path.GetRelativePath(sourceRoot, f), f)),
        .. new[] { "crun", "busybox" }.Select(tool => (tool, HostTools.Find(tool)!)),
    ];

    private static string HashInputs(string kernelPackage, IReadOnlyList<(string Label, string Path)> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string label, byte[] data)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(label + "\n"));
            sha.AppendData(SHA256.HashData(data));
        }
        Add("layout", BitConverter.GetBytes(LayoutVersion));
        Add("kernel", Encoding.UTF8.GetBytes(kernelPackage));
        foreach (var (label, path) in files) Add(label, File.ReadAllBytes(path));
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }

    private static async Task<HostTools.Result> Run(string program, string[] args, CancellationToken ct, string? workDir = null)
    {
        var r = await HostTools.RunAsync(program, args, workDir, TimeSpan.FromMinutes(10), ct: ct);
        if (r.ExitCode != 0) throw new GuestImageException($"{program} {string.Join(' ', args)} failed (exit {r.ExitCode}): {Tail(r.Output, 20)}");
        return r;
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}

public sealed record Manifest(string InputsHash, string KernelPackage, string BuiltAt);

[System.Text.Json.Serialization.JsonSerializable(typeof(Manifest))]
internal sealed partial class ManifestJson : System.Text.Json.Serialization.JsonSerializerContext;
