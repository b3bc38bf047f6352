using Nerdbox.Engine.Host;
namespace Nerdbox.Engine.GuestImage;

/// <summary>Host programs the shim needs, with the Debian package that provides each.</summary>
public static class HostPackages
{
    public static readonly (string Program, string Package, string Why)[] ForImage =
    [
        ("crun", "crun", "the container runtime copied into the guest"),
        ("busybox", "busybox-static", "the guest's shell and tools"),
        ("lz4", "lz4", "to unpack the kernel"),
        ("apt-get", "apt", "to download the kernel package"),
        ("dpkg-deb", "dpkg", "to unpack the kernel package"),
        ("ldd", "libc-bin", "to find the libraries crun needs"),
        ("gcc", "gcc", "to compile the guest's stand-in for crun's libsystemd"),
    ];

    public static readonly (string Program, string Package, string Why)[] ForRun =
    [
        ("qemu-system-x86_64", "qemu-system-x86", "the VMM"),
        ("mkfs.erofs", "erofs-utils", "to turn a bundle's rootfs into a read-only disk"),
    ];

    /// <summary>The programs the minimal guest kernel's build needs (libelf-dev's headers are checked by <see cref="MinimalKernel"/>).</summary>
    public static readonly (string Program, string Package, string Why)[] ForMinimalKernel =
    [
        ("gcc", "gcc", "to compile the kernel"),
        ("make", "make", "to build the kernel"),
        ("flex", "flex", "for the kernel's config parser"),
        ("bison", "bison", "for the kernel's config parser"),
        ("bc", "bc", "for the kernel's build"),
        ("nice", "coreutils", "to build at low priority"),
        ("tar", "tar", "to unpack the kernel source"),
        ("xz", "xz-utils", "to unpack the kernel source"),
        ("apt-get", "apt", "to download the kernel source package"),
        ("dpkg-deb", "dpkg", "to unpack the kernel source package"),
    ];

    /// <summary>Throws, naming the install command, when any program is missing.</summary>
    public static void Require(IEnumerable<(string Program, string Package, string Why)> needed)
    {
        var missing = needed.Where(n => HostTools.Find(n.Program) is null).ToList();
        if (missing.Count == 0) return;
        throw new GuestImageException(
            "missing host programs: " + string.Join(", ", missing.Select(m => $"{m.Program} ({m.Why})")) +
            $"\ninstall them with: apt-get update && apt-get install -y --no-install-recommends {string.Join(' ', missing.Select(m => m.Package).Distinct())}");
    }
}
