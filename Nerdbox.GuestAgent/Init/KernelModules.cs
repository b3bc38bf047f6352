using Nerdbox.Api.Contract;
using Nerdbox.Api.System.V1;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Init;

/// <summary>
/// Loads the image's kernel modules in the order the image builder resolved (there is no modprobe
/// or modules.dep in the guest). Module parameters on the kernel command line are passed along,
/// as modprobe would (e.g. microvm's <c>virtio_mmio.device=</c>).
/// Only what the agent's channel needs is loaded before the server starts; the rest (disks,
/// file systems) loads right after, off the boot path, and <see cref="Deferred"/> says when. vsock's
/// modules are skipped when the channel is virtio-serial, and the disk's when the rootfs came in the initramfs
/// (which needs only the overlay's).
/// </summary>
internal static class KernelModules
{
    public const string OrderFile = "/lib/modules/nerdbox.order";

    private static readonly HashSet<string> VirtioChannel = ["virtio_ring", "virtio", "virtio_mmio", "virtio_console"];
    private static readonly HashSet<string> Vsock = ["vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport"];
    private const string Overlay = "overlay";
    private static List<string> _deferred = [];
    private static readonly List<ModuleLoad> LoadsSoFar = [];
    private static readonly TaskCompletionSource DeferredLoaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once every module has been loaded (or failed to load).</summary>
    public static Task Deferred => DeferredLoaded.Task;

    /// <summary>Loads the channel's modules now and keeps the others for <see cref="LoadDeferred"/>.</summary>
    public static void LoadForBoot(KernelCmdline cmdline, Action<string> log)
    {
        // A kernel built without module support (the minimal kernel) has everything built in and no /proc/modules.
        if (!File.Exists(OrderFile) || !File.Exists("/proc/modules"))
        {
            DeferredLoaded.TrySetResult();
            return;
        }
        var channel = cmdline.Get(AgentKernelArgs.Channel) ?? "auto";
        var virtioSerial = channel.StartsWith("virtio-serial", StringComparison.Ordinal);
        var now = virtioSerial ? VirtioChannel : [.. VirtioChannel, .. Vsock];
        var later = new List<string>();
        foreach (var line in File.ReadAllLines(OrderFile))
        {
            var path = line.Trim();
            if (path.Length == 0 || path.StartsWith('#')) continue;
            var name = Path.GetFileNameWithoutExtension(path);
            if (now.Contains(name)) Load(path, cmdline, log);
            // A VM given a virtio-serial channel has no vsock device; loading its transport would only take CPU
            // from the boot (the deferred modules load while the first calls are served).
            else if (!(virtioSerial && Vsock.Contains(name))) later.Add(path);
        }
        // A rootfs in the initramfs needs the overlay's driver alone: the VM has no disk.
        _deferred = cmdline.Get(AgentKernelArgs.Rootfs) == AgentKernelArgs.RootfsInInitramfs
            ? later.Where(p => Path.GetFileNameWithoutExtension(p) == Overlay).ToList()
            : later;
    }

    /// <summary>Every load so far, timed on the boot clock, for the host's spans.</summary>
    public static IReadOnlyList<ModuleLoad> Loads
    {
        get
        {
            lock (LoadsSoFar) return [.. LoadsSoFar];
        }
    }

    /// <summary>Loads the rest; called once the server listens.</summary>
    public static void LoadDeferred(Action<string> log)
    {
        try
        {
            var cmdline = KernelCmdline.Read();
            foreach (var path in _deferred) Load(path, cmdline, log, deferred: true);
        }
        finally
        {
            DeferredLoaded.TrySetResult();
        }
    }

    private static void Load(string path, KernelCmdline cmdline, Action<string> log, bool deferred = false)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var load = new ModuleLoad { Name = name, StartNs = BootClock.BootNs(), Deferred = deferred };
        using (var file = File.OpenHandle(path))
        {
            var fd = (int)file.DangerousGetHandle();
            var rc = Libc.SyscallFinitModule(Libc.SYS_finit_module, fd, cmdline.ModuleParameters(name), 0);
            if (rc != 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Libc.EEXIST)
            {
                load.Error = Libc.LastErrorText();
                log($"module {name}: {load.Error}");
            }
        }
        load.EndNs = BootClock.BootNs();
        lock (LoadsSoFar) LoadsSoFar.Add(load);
    }
}
