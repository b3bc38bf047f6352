using System.Text;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Init;

/// <summary>
/// PID 1 duties before the agent serves: the pseudo file systems, cgroup2 for crun, a read-only root,
/// kernel modules, and the host name. Power-off is here too.
/// </summary>
internal static class GuestInit
{
    private static readonly (string Source, string Target, string Type, ulong Flags, string? Data)[] Mounts =
    [
        ("proc", "/proc", "proc", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC, null),
        ("sysfs", "/sys", "sysfs", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC, null),
        ("devtmpfs", "/dev", "devtmpfs", Libc.MS_NOSUID, "mode=0755"),
        ("devpts", "/dev/pts", "devpts", Libc.MS_NOSUID | Libc.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"),
        ("tmpfs", "/dev/shm", "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=1777"),
        ("tmpfs", "/run", "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=0755"),
        ("tmpfs", "/tmp", "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV, "mode=1777"),
        ("cgroup2", "/sys/fs/cgroup", "cgroup2", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC, null),
    ];

    public static void Run(Action<string> log, BootTimeline timeline)
    {
        foreach (var m in Mounts)
        {
            Directory.CreateDirectory(m.Target);
            if (Libc.Mount(m.Source, m.Target, m.Type, m.Flags, m.Data) != 0)
                log($"mount {m.Type} on {m.Target}: {Libc.LastErrorText()}");
        }
        MakeRootReadOnly(log);
        timeline.MountsDoneNs = BootClock.BootNs();
        KernelModules.LoadForBoot(KernelCmdline.Read(), log);
        SetHostName("nerdbox");
        timeline.InitDoneNs = BootClock.BootNs();
    }

    /// <summary>
    /// The root (the initramfs, a ramfs by the shim's <c>rootfstype=ramfs</c>) becomes read-only once its mount points
    /// exist; everything the agent and crun write is under <c>/run</c>, <c>/tmp</c> and <c>/dev/shm</c>. The guest's
    /// programs are then out of any container's reach, and crun, on a read-only file system that is not a tmpfs,
    /// runs in place instead of copying itself into a memfd on every call (its guard against a container
    /// overwriting it). Should the remount fail, crun keeps that guard by copying itself, as before.
    /// </summary>
    private static void MakeRootReadOnly(Action<string> log)
    {
        if (Libc.Mount(null, "/", null, Libc.MS_REMOUNT | Libc.MS_RDONLY, null) != 0)
            log($"read-only root: {Libc.LastErrorText()}");
    }

    private static unsafe void SetHostName(string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name);
        fixed (byte* p = bytes) Libc.SetHostName(p, (nuint)bytes.Length);
    }

    /// <summary>Syncs and powers the VM off; the VMM exits when the guest does.</summary>
    public static void PowerOff()
    {
        Libc.Sync();
        Libc.Reboot(Libc.LINUX_REBOOT_CMD_POWER_OFF);
        // Power-off needs ACPI; a restart with the VMM's no-reboot setting ends the VM as well.
        Libc.Reboot(Libc.LINUX_REBOOT_CMD_RESTART);
    }
}
