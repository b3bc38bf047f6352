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

    public static async Task<BundleRootfs> PrepareAsync(string rootfs, string via, string imageInitrd, string stateDirectory, CancellationToken ct)
    {
        if (!RootfsVia.All.Contains(via)) throw new ArgumentException($"rootfs delivery '{via}': use one of {string.Join(", ", RootfsVia.All)}");
        string reason;
        if (via == RootfsVia.Disk) reason = "asked for";
        else
        {
            var (archive, refusal) = RootfsArchive.Scan(rootfs);
            if (archive is not null)
            {
                var initrd = System.IO.Path.Combine(stateDirectory, "initrd.cpio");
                var appended = archive.WriteInitrd(imageInitrd, initrd);
                return new BundleRootfs(RootfsVia.Initramfs, initrd, appended,
                    via == RootfsVia.Auto ? $"{archive.Entries} entries, {archive.Bytes} bytes: within the initramfs's {RootfsArchive.MaxEntries} entries and {RootfsArchive.MaxBytes} bytes" : "asked for");
            }
            if (via == RootfsVia.Initramfs) throw new BundleException($"rootfs '{rootfs}' cannot go in the initramfs: {refusal}");
            reason = $"not in the initramfs: {refusal}";
        }
        var disk = await RootfsDisk.BuildAsync(rootfs, System.IO.Path.Combine(stateDirectory, "rootfs.erofs"), ct);
        return new BundleRootfs(RootfsVia.Disk, disk, new FileInfo(disk).Length, reason);
    }
}
