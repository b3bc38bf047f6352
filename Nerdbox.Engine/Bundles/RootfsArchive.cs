using System.Runtime.InteropServices;
using Nerdbox.Api.Contract;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm.Native;

namespace Nerdbox.Engine.Bundles;

/// <summary>
/// A small rootfs packed for the VM's initramfs: a cpio archive, appended to the image's, that the kernel unpacks under
/// <see cref="GuestBundleLayout.InitramfsRootfs"/> before the agent starts. The guest then needs no disk and none of
/// its drivers (about 140 ms of a boot under TCG). Every byte of it is copied at boot, so only a rootfs within
/// <see cref="MaxBytes"/> and <see cref="MaxEntries"/> goes this way; a larger one, or one holding what the archive does
/// not carry (device nodes, FIFOs, sockets), keeps the disk.
/// </summary>
public sealed class RootfsArchive
{
    public const long MaxBytes = 16L * 1024 * 1024;
    public const int MaxEntries = 4096;

    private enum Kind { Directory, File, Symlink }

    private sealed record Entry(string Path, Kind Kind, int Mode, CpioOwner Owner, long Size, (ulong Dev, ulong Ino)? Link, uint Links);

    private readonly string _root;
    private readonly List<Entry> _entries;

    private RootfsArchive(string root, List<Entry> entries, long bytes)
    {
        _root = root;
        _entries = entries;
        Bytes = bytes;
    }

    /// <summary>The bytes of the files' contents (each hard-linked file once) and link targets.</summary>
    public long Bytes { get; }

    public int Entries => _entries.Count;

    /// <summary>
    /// Scans <paramref name="rootfs"/> without following links: the archive, or why the rootfs cannot go this way. The scan
    /// stops at the first limit it passes, so a large rootfs costs little to refuse.
    /// </summary>
    public static (RootfsArchive? Archive, string? Refusal) Scan(string rootfs)
    {
        try
        {
            return ScanTree(Path.GetFullPath(rootfs));
        }
        catch (RootfsRefused e)
        {
            return (null, e.Message);
        }
    }

    private static (RootfsArchive?, string?) ScanTree(string root)
    {
        var entries = new List<Entry>();
        var seenLinks = new HashSet<(ulong, ulong)>();
        long bytes = 0;
        var pending = new Stack<string>();
        var top = Stat(root);
        if (top.Kind != Kind.Directory) return (null, $"'{root}' is not a directory");
        entries.Add(top with { Path = "" });
        pending.Push(root);
        while (pending.TryPop(out var dir))
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(root, path);
                if (entries.Count >= MaxEntries) return (null, $"it holds more than {MaxEntries} entries");
                var e = Stat(path, relative);
                if (e.Kind == Kind.Directory) pending.Push(path);
                if (e.Link is not { } link || seenLinks.Add(link)) bytes += e.Size;
                if (bytes > MaxBytes) return (null, $"it holds more than {MaxBytes / (1024 * 1024)} MiB");
                entries.Add(e);
            }
        }
        return (new RootfsArchive(root, entries, bytes), null);

        Entry Stat(string full, string relative = "")
        {
            var (nlink, uid, gid, mode, ino, size, mtime, devMajor, devMinor) = Lstat(full);
            var kind = (mode & 0xF000) switch
            {
                0x4000 => Kind.Directory,
                0x8000 => Kind.File,
                0xA000 => Kind.Symlink,
                _ => throw new RootfsRefused($"'{relative}' is a device node, FIFO or socket, which the initramfs does not carry"),
            };
            var owner = new CpioOwner(uid, gid, Math.Clamp(mtime, 0, uint.MaxValue));
            var link = kind == Kind.File && nlink > 1 ? ((ulong)devMajor << 32 | devMinor, ino) : ((ulong, ulong)?)null;
            return new Entry(relative, kind, mode & 0xFFF, owner, kind == Kind.Directory ? 0 : (long)size, link, nlink);
        }
    }

    /// <summary>What <see cref="Scan"/> met that the archive does not carry; caught there and given as the refusal.</summary>
    private sealed class RootfsRefused(string message) : Exception(message);

    private static unsafe (uint Nlink, uint Uid, uint Gid, ushort Mode, ulong Ino, ulong Size, long MtimeSeconds, uint DevMajor, uint DevMinor) Lstat(string path)
    {
        var buffer = stackalloc byte[Libc.StatxSize];
        if (Libc.Statx(Libc.AT_FDCWD, path, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, buffer) != 0)
            throw new BundleException($"rootfs: cannot read '{path}': {Libc.LastErrorText()}");
        return Libc.StatxFields(new ReadOnlySpan<byte>(buffer, Libc.StatxSize));
    }

    /// <summary>
    /// Writes <paramref name="initrd"/>: the image's initramfs, then this rootfs as a second archive under
    /// <see cref="GuestBundleLayout.InitramfsRootfs"/>; returns that archive's length. A file that changed since the scan
    /// past the limits is refused.
    /// </summary>
    public long WriteInitrd(string imageInitrd, string initrd)
    {
        File.Copy(imageInitrd, initrd, overwrite: true);
        using var stream = new FileStream(initrd, FileMode.Append, FileAccess.Write, FileShare.None, 1 << 16);
        var cpio = new CpioWriter(stream);
        using (cpio) WriteEntries(cpio);
        return cpio.Length;
    }

    private void WriteEntries(CpioWriter cpio)
    {
        var prefix = GuestBundleLayout.InitramfsRootfs.TrimStart('/');
        cpio.Directory(Path.GetDirectoryName(prefix)!, 0x1C0 /* 0700 */);
        var linkIds = new Dictionary<(ulong, ulong), uint>();
        long written = 0;
        foreach (var e in _entries)
        {
            var path = e.Path.Length == 0 ? prefix : prefix + "/" + e.Path;
            var full = Path.Combine(_root, e.Path);
            switch (e.Kind)
            {
                case Kind.Directory:
                    cpio.Directory(path, e.Mode, e.Owner);
                    break;
                case Kind.Symlink:
                    cpio.Symlink(path, new FileInfo(full).LinkTarget ?? throw new BundleException($"rootfs: '{full}' is no longer a link"), e.Owner);
                    break;
                case Kind.File when e.Link is { } link:
                    var first = !linkIds.TryGetValue(link, out var id);
                    if (first) linkIds[link] = id = cpio.NewLinkId();
                    cpio.HardLinkedFile(path, first ? Read(full, ref written) : [], e.Mode, e.Owner, id, (int)e.Links);
                    break;
                default:
                    cpio.File(path, Read(full, ref written), e.Mode, e.Owner);
                    break;
            }
        }
    }

    private static byte[] Read(string path, ref long written)
    {
        var content = File.ReadAllBytes(path);
        written += content.Length;
        if (written > MaxBytes) throw new BundleException($"rootfs: '{path}' grew while the rootfs was packed; past {MaxBytes / (1024 * 1024)} MiB");
        return content;
    }
}
