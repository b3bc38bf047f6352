using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Init;

/// <summary>
/// Serves the OCI runtime's binary from a read-only file system, once per boot. crun guards against a container
/// overwriting it through <c>/proc/self/exe</c> (CVE-2019-5736) by copying itself into a sealed memfd and exec'ing
/// the copy, on every call, unless its binary is already sealed or on a read-only mount. The guest's root is the
/// initramfs, a tmpfs, which crun takes for an unsealed memfd even under a read-only bind, so each create, start,
/// kill and delete paid for that copy, a second load of the runtime and its libraries and, under emulation, a fresh
/// translation of all of it for the copy's new pages. Here the binary is copied once into a ramfs (not memfd-like)
/// that is then made read-only, and bound over the original path: the guard holds (the file cannot be opened for
/// writing) and every call runs the same pages. The copy is made off the boot path, after the server listens;
/// a container's create waits for <see cref="Ready"/>.
/// </summary>
internal static class ReadOnlyRuntime
{
    private const string CopyDirectory = "/run/nerdbox-runtime";

    /// <summary>Completes once the binary is in place (or could not be, which is logged); complete from the start on a host.</summary>
    public static Task Ready { get; private set; } = Task.CompletedTask;

    /// <summary>Makes the read-only copy in the background; call before the server starts.</summary>
    public static void Start(string binary, Action<string> log) => Ready = Task.Run(() => Apply(binary, log));

    private static void Apply(string binary, Action<string> log)
    {
        if (!File.Exists(binary)) return;
        var copy = Path.Combine(CopyDirectory, Path.GetFileName(binary));
        try
        {
            Directory.CreateDirectory(CopyDirectory);
            Check(Libc.Mount("nerdbox-runtime", CopyDirectory, "ramfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=0755"), "ramfs");
            File.Copy(binary, copy);
            Check(Libc.Mount(null, CopyDirectory, null, Libc.MS_REMOUNT | Libc.MS_RDONLY | Libc.MS_NOSUID | Libc.MS_NODEV, null), "read-only remount");
            Check(Libc.Mount(copy, binary, null, Libc.MS_BIND, null), "bind");
            Check(Libc.Mount(null, binary, null, Libc.MS_REMOUNT | Libc.MS_BIND | Libc.MS_RDONLY | Libc.MS_NOSUID | Libc.MS_NODEV, null), "read-only bind");
        }
        catch (Exception e)
        {
            // Whatever failed, the runtime still works from its own path; each call only pays for its own copy again.
            // A container's create waits for this, so nothing may escape it.
            log($"read-only runtime {binary}: {e.Message}");
        }
    }

    private static void Check(int rc, string step)
    {
        if (rc != 0) throw new InvalidOperationException($"{step}: {Libc.LastErrorText()}");
    }
}
