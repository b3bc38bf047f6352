using Nerdbox.Engine.Host;
namespace Nerdbox.Engine.Bundles;

/// <summary>
/// Turns a bundle's rootfs directory into a read-only EROFS disk image; the guest mounts it under
/// a writable overlay. The rootfs reaches the guest as a block device, never through the RPC channel.
/// </summary>
public static class RootfsDisk
{
    public const string Serial = "rootfs";
    public const string FsType = "erofs";

    public static async Task<string> BuildAsync(string rootfsDirectory, string imagePath, CancellationToken ct)
    {
        var mkfs = HostTools.Find("mkfs.erofs")
            ?? throw new BundleException("mkfs.erofs not found; install it with: apt-get install -y --no-install-recommends erofs-utils");
        var r = await HostTools.RunAsync(mkfs, ["--quiet", imagePath, rootfsDirectory], timeout: TimeSpan.FromMinutes(5), ct: ct);
        if (r.ExitCode != 0 || !File.Exists(imagePath))
            throw new BundleException($"cannot make a disk of rootfs '{rootfsDirectory}': mkfs.erofs exit {r.ExitCode}: {r.Output}");
        return imagePath;
    }
}
