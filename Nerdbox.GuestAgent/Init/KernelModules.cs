using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Init;

/// <summary>
/// Loads the image's kernel modules in the order the image builder resolved (there is no modprobe
/// or modules.dep in the guest). Module parameters on the kernel command line are passed along,
/// as modprobe would (e.g. microvm's <c>virtio_mmio.device=</c>).
/// </summary>
internal static class KernelModules
{
    public const string OrderFile = "/lib/modules/nerdbox.order";

    public static void LoadAll(KernelCmdline cmdline, Action<string> log)
    {
        if (!File.Exists(OrderFile)) return;
        foreach (var line in File.ReadAllLines(OrderFile))
        {
            var path = line.Trim();
            if (path.Length == 0 || path.StartsWith('#')) continue;
            var name = Path.GetFileNameWithoutExtension(path);
            using var file = File.OpenHandle(path);
            var fd = (int)file.DangerousGetHandle();
            var rc = Libc.SyscallFinitModule(Libc.SYS_finit_module, fd, cmdline.ModuleParameters(name), 0);
            if (rc != 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != Libc.EEXIST)
                log($"module {name}: {Libc.LastErrorText()}");
        }
    }
}
