namespace Nerdbox.Engine.Vm;

/// <summary>
/// The kernel command-line words every backend gives the guest, after its console and before the
/// channel and the user's own words (a user's later word wins, e.g. <c>cryptomgr.notests=0</c>).
/// </summary>
public static class GuestKernelWords
{
    public static readonly IReadOnlyList<string> Common =
    [
        "quiet", "loglevel=4",
        // A guest panic ends the VM at once instead of waiting for a reboot the VMM refuses.
        "panic=-1",
        // The crypto self-tests run every algorithm at boot (about 0.3 s of kernel to /init under TCG); nothing on
        // the guest's path uses kernel crypto (the image's modules carry no signatures to check).
        "cryptomgr.notests",
        // The initramfs unpacks into a ramfs rather than a tmpfs, which the agent then makes read-only. crun copies
        // itself into a memfd on every call unless its binary sits on a read-only file system, and it takes any
        // tmpfs file for an unsealed memfd; on a read-only ramfs it runs in place, and no container can write to it.
        "rootfstype=ramfs",
    ];
}
