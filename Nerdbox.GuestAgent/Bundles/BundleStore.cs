using System.Diagnostics;
using Nerdbox.Api.Contract;
using Nerdbox.GuestAgent.Native;
using Nerdbox.GuestAgent.Tracing;

namespace Nerdbox.GuestAgent.Bundles;

/// <summary>
/// Bundles in the guest: <c>/run/nerdbox/bundles/ID</c> with the host's bundle files, written as they come (the
/// host made config.json for the guest: its root.path is the rootfs directory), and the rootfs disk mounted
/// read-only under a tmpfs-backed overlay so that the container can write.
/// </summary>
internal sealed class BundleStore(string root)
{
    public const int MaxFiles = 64;
    public const long MaxTotalBytes = 16L * 1024 * 1024;

    public string PathOf(string id) => Path.Combine(root, id);

    public static void ValidateId(string id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || id.StartsWith('.'))
            throw new ArgumentException($"invalid id '{id}': use 1-64 letters, digits, '-', '_' or '.'");
    }

    public string Create(string id, IReadOnlyDictionary<string, byte[]> files, string? diskSerial, string fsType)
    {
        ValidateId(id);
        if (!files.ContainsKey("config.json")) throw new ArgumentException("bundle has no config.json");
        if (files.Count > MaxFiles) throw new ArgumentException($"bundle has {files.Count} files; at most {MaxFiles}");
        if (files.Values.Sum(f => (long)f.Length) > MaxTotalBytes) throw new ArgumentException($"bundle files exceed {MaxTotalBytes} bytes");
        var dir = PathOf(id);
        if (Directory.Exists(dir)) throw new InvalidOperationException($"bundle '{id}' exists already");
        Directory.CreateDirectory(dir);
        var rootfs = Path.Combine(dir, GuestBundleLayout.RootfsDirectory);
        Directory.CreateDirectory(rootfs);
        foreach (var (name, content) in files)
        {
            var target = Path.GetFullPath(Path.Combine(dir, name));
            if (!target.StartsWith(dir + "/", StringComparison.Ordinal) || name.StartsWith('/'))
                throw new ArgumentException($"bundle file '{name}' is outside the bundle");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, content);
        }
        if (diskSerial is { Length: > 0 }) MountRootfs(dir, rootfs, diskSerial, fsType);
        return dir;
    }

    private static void MountRootfs(string dir, string rootfs, string serial, string fsType)
    {
        using var span = GuestTracing.Source.StartActivity("bundle.MountRootfs");
        span?.SetTag("nerdbox.disk.serial", serial);
        span?.SetTag("system.filesystem.type", fsType);
        try
        {
            if (fsType is not ("erofs" or "ext4")) throw new ArgumentException($"unsupported rootfs type '{fsType}'");
            // Disk and file-system drivers load after the agent starts serving.
            if (!Init.KernelModules.Deferred.Wait(TimeSpan.FromSeconds(10))) throw new IOException("kernel modules for the rootfs did not load within 10s");
            var device = FindDisk(serial);
            span?.SetTag("system.device", device);
            var lower = Path.Combine(dir, "lower");
            var rw = Path.Combine(dir, "rw");
            Directory.CreateDirectory(lower);
            Directory.CreateDirectory(rw);
            Mount(device, lower, fsType, Libc.MS_RDONLY, null, "mount.Lower");
            Mount("tmpfs", rw, "tmpfs", 0, "mode=0755", "mount.Writable");
            Directory.CreateDirectory(Path.Combine(rw, "upper"));
            Directory.CreateDirectory(Path.Combine(rw, "work"));
            Mount("overlay", rootfs, "overlay", 0, $"lowerdir={lower},upperdir={rw}/upper,workdir={rw}/work", "mount.Overlay");
        }
        catch (Exception e)
        {
            GuestTracing.RecordError(span, e);
            throw;
        }
    }

    private static void Mount(string source, string target, string type, ulong flags, string? data, string spanName)
    {
        using var span = GuestTracing.Source.StartActivity(spanName);
        span?.SetTag("system.filesystem.type", type);
        span?.SetTag("system.filesystem.mountpoint", target);
        if (Libc.Mount(source, target, type, flags, data) != 0)
        {
            var e = new IOException($"mount {type} {source} on {target}: {Libc.LastErrorText()}");
            GuestTracing.RecordError(span, e);
            throw e;
        }
    }

    /// <summary>The block device whose virtio serial is <paramref name="serial"/>, e.g. /dev/vda.</summary>
    private static string FindDisk(string serial)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            foreach (var dir in Directory.Exists("/sys/block") ? Directory.EnumerateDirectories("/sys/block", "vd*") : [])
            {
                var file = Path.Combine(dir, "serial");
                if (File.Exists(file) && File.ReadAllText(file).Trim() == serial) return "/dev/" + Path.GetFileName(dir);
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(5)) throw new IOException($"no disk with serial '{serial}'");
            Thread.Sleep(5);
        }
    }

    public void Remove(string id)
    {
        var dir = PathOf(id);
        foreach (var mount in new[] { "rootfs", "rw", "lower" })
            Libc.Umount2(Path.Combine(dir, mount), 2 /* MNT_DETACH */);
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
