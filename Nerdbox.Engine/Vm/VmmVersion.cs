using Nerdbox.Engine.Host;
using Nerdbox.Engine.Vm.Libkrun;
using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Engine.Vm;

/// <summary>What a backend's VMM is, in one line, so that a trace says what it ran on.</summary>
public static class VmmVersion
{
    public static async Task<string> OfAsync(IVmBackend backend, CancellationToken ct)
    {
        switch (backend)
        {
            case QemuBackend qemu:
                var path = HostTools.Find(qemu.Binary);
                if (path is null) return "qemu (not found)";
                var r = await HostTools.RunAsync(path, ["--version"], timeout: TimeSpan.FromSeconds(10), ct: ct);
                return r.ExitCode == 0 && r.Stdout.Split('\n')[0].Trim() is { Length: > 0 } line ? line : "qemu (version unknown)";
            case LibkrunBackend:
                return LibkrunBackend.TryFindLibrary(out var name) ? "libkrun " + name : "libkrun (not found)";
            default:
                return backend.Name;
        }
    }
}
