namespace Nerdbox.Engine.Bundles;

/// <summary>How a bundle's rootfs reaches the guest: <c>auto</c> (the initramfs when it fits, else a disk), or one of them.</summary>
public static class RootfsVia
{
    public const string Auto = "auto";
    public const string Disk = "disk";
    public const string Initramfs = "initramfs";

    public static readonly string[] All = [Auto, Disk, Initramfs];
}

/// <summary>
/// A bundle's rootfs made ready for its VM: either an EROFS disk (<see cref="RootfsDisk"/>) or the VM's own initramfs with
/// the rootfs appended (<see cref="RootfsArchive"/>), and why that way. A small rootfs in the initramfs spares the guest
/// its disk and the drivers for it.
/// </summary>
/// <param name="Bytes">What the rootfs adds to the boot: the disk's size, or the length of its archive in the initramfs.</param>
public sealed record BundleRootfs(string Via, string Path, long Bytes, string Reason)
{
    public bool InInitramfs => Via == RootfsVia.Initramfs;

    /// <summary>The disk to attach, or null when the rootfs is in the initramfs.</summary>
    public string? Disk => InInitramfs ? null : Path;

    /// <summary>
    /// Which way the rootfs goes, and why, without packing it: its archive when it goes in the initramfs, else null. Asked
    /// for the initramfs, a rootfs that cannot go there is refused, naming why.
    /// </summary>
    public static (RootfsArchive? Archive, string Reason) Choose(string rootfs, string via)
    {
        if (!RootfsVia.All.Contains(via)) throw new ArgumentException($"rootfs delivery '{via}': use one of {string.Join(", ", RootfsVia.All)}");
        if (via == RootfsVia.Disk) return (null, "asked for");
        var (archive, refusal) = RootfsArchive.Scan(rootfs);
        if (archive is not null)
            return (archive, via == RootfsVia.Auto ? $"{archive.Entries} entries, {archive.Bytes} bytes: within the initramfs's {RootfsArchive.MaxEntries} entries and {RootfsArchive.MaxBytes} bytes" : "asked for");
        if (via == RootfsVia.Initramfs) throw new BundleException($"rootfs '{rootfs}' cannot go in the initramfs: {refusal}");
        return (null, $"not in the initramfs: {refusal}");
    }

    /// <summary>Packs the rootfs the way <see cref="Choose"/> says, into <paramref name="stateDirectory"/>.</summary>
    public static async Task<BundleRootfs> PrepareAsync(string rootfs, string via, string imageInitrd, string stateDirectory, CancellationToken ct)
    {
        var (archive, reason) = Choose(rootfs, via);
        if (archive is not null)
        {
            var initrd = System.IO.Path.Combine(stateDirectory, "initrd.cpio");
            return new BundleRootfs(RootfsVia.Initramfs, initrd, archive.WriteInitrd(imageInitrd, initrd), reason);
        }
        var disk = await RootfsDisk.BuildAsync(rootfs, System.IO.Path.Combine(stateDirectory, "rootfs.erofs"), ct);
        return new BundleRootfs(RootfsVia.Disk, disk, new FileInfo(disk).Length, reason);
    }
}
