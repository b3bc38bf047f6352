using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Engine.Vm;

/// <summary>
/// Picks the VM backend: "auto" takes libkrun where hardware KVM and libkrun are present, else
/// QEMU, and says why; an explicit choice that cannot work on this host fails with the reason.
/// </summary>
public static class BackendSelector
{
    public sealed record Selection(IVmBackend Backend, string Reason);

    public static IReadOnlyList<IVmBackend> All() => [new Libkrun.LibkrunBackend(), new QemuBackend()];

    public static Selection Select(string requested, IReadOnlyList<IVmBackend>? backends = null)
    {
        backends ??= All();
        requested = string.IsNullOrEmpty(requested) ? "auto" : requested;
        if (requested != "auto")
        {
            var backend = backends.FirstOrDefault(b => b.Name == requested)
                ?? throw new VmException($"unknown VM backend '{requested}': use auto, {string.Join(", ", backends.Select(b => b.Name))}");
            var check = backend.Check();
            return check.Usable ? new(backend, $"{backend.Name} as asked: {check.Reason}")
                : throw new VmException($"VM backend '{requested}' cannot run here: {check.Reason}");
        }
        var reasons = new List<string>();
        foreach (var backend in backends)
        {
            var check = backend.Check();
            if (check.Usable) return new(backend, $"{backend.Name}: {check.Reason}" + (reasons.Count > 0 ? $" ({string.Join("; ", reasons)})" : ""));
            reasons.Add($"{backend.Name} not usable: {check.Reason}");
        }
        throw new VmException("no VM backend can run here: " + string.Join("; ", reasons));
    }
}
