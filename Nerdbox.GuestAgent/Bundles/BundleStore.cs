using System.Diagnostics;
using Nerdbox.Api.Contract;
using Nerdbox.GuestAgent.Native;
using Nerdbox.GuestAgent.Tracing;

namespace Nerdbox.GuestAgent.Bundles;

/// <summary>
/// Bundles in the guest: <c>/run/nerdbox/bundles/ID</c> with the host's bundle files, written as they come (the
/// host made config.json for the guest: its root.path is the rootfs directory). The rootfs is a read-only lower
/// layer under a tmpfs-backed overlay so that the container can write: a disk, or the directory the initramfs brought
/// (on the guest's root, which no container can write to).
/// </summary>
internal sealed class BundleStore(string root, string initramfsRootfs = GuestBundleLayout.InitramfsRootfs)
{
    public const int MaxFiles = 64;
    public const long MaxTotalBytes = 16L * 1024 * 1024;

    public string PathOf(string id) => Path.Combine(root, id);

    public static void ValidateId(string id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || id.StartsWith('.'))
            throw new ArgumentException($"invalid id '{id}': use 1-64 letters, digits, '-', '_' or '.'");
    }

    public string Create(string id, IReadOnlyDictionary<string, byte[]> files, string? diskSerial, string fsType, bool rootfsInInitramfs = false)
    {
        ValidateId(id);
        if (rootfsInInitramfs && diskSerial is { Length: > 0 }) throw new ArgumentException("bundle names both a rootfs disk and the initramfs's rootfs; give one");
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
        if (diskSerial is { Length: > 0 }) MountRootfs(dir, rootfs, new DiskLower(diskSerial, fsType));
        else if (rootfsInInitramfs) MountRootfs(dir, rootfs, lower: null);
        return dir;
    }

    /// <summary>The rootfs's disk: its virtio serial and file-system type.</summary>
    private sealed record DiskLower(string Serial, string FsType);

    /// <summary>Mounts the overlay on <paramref name="rootfs"/>, over the disk, or over the initramfs's rootfs when <paramref name="lower"/> is null.</summary>
    private void MountRootfs(string dir, string rootfs, DiskLower? lower)
    {
        using var span = GuestTracing.Source.StartActivity("bundle.MountRootfs");
        span?.SetTag("nerdbox.rootfs.via", lower is null ? "initramfs" : "disk");
        if (lower is not null)
        {
            span?.SetTag("nerdbox.disk.serial", lower.Serial);
            span?.SetTag("system.filesystem.type", lower.FsType);
        }
        try
        {
            if (lower is not null && lower.FsType is not ("erofs" or "ext4")) throw new ArgumentException($"unsupported rootfs type '{lower.FsType}'");
            if (lower is null && !Directory.Exists(initramfsRootfs)) throw new IOException($"no rootfs came in the initramfs ({initramfsRootfs})");
            // The overlay's driver, and a disk's drivers, load after the agent starts serving.
            if (!Init.KernelModules.Deferred.Wait(TimeSpan.FromSeconds(10))) throw new IOException("kernel modules for the rootfs did not load within 10s");
            var lowerDir = initramfsRootfs;
            if (lower is not null)
            {
                var device = FindDisk(lower.Serial);
                span?.SetTag("system.device", device);
                lowerDir = Path.Combine(dir, "lower");
                Directory.CreateDirectory(lowerDir);
                Mount(device, lowerDir, lower.FsType, Libc.MS_RDONLY, null, "mount.Lower");
            }
            var rw = Path.Combine(dir, "rw");
            Directory.CreateDirectory(rw);
            Mount("tmpfs", rw, "tmpfs", 0, "mode=0755", "mount.Writable");
            Directory.CreateDirectory(Path.Combine(rw, "upper"));
            Directory.CreateDirectory(Path.Combine(rw, "work"));
            Mount("overlay", rootfs, "overlay", 0, $"lowerdir={lowerDir},upperdir={rw}/upper,workdir={rw}/work", "mount.Overlay");
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
