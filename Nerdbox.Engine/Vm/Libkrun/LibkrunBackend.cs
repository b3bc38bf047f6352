namespace Nerdbox.Engine.Vm.Libkrun;

/// <summary>
/// libkrun microVMs: needs hardware KVM and libkrun.so. libkrun is loaded at run time, never
/// linked at build time, so hosts without it still run the shim with another backend. Each VM
/// runs in a helper process (libkrun's start call never returns); see <see cref="HelperProtocol"/>.
/// The agent channel is always vsock.
/// </summary>
public sealed class LibkrunBackend(LibkrunOptions? options = null) : IVmBackend
{
    public static IReadOnlyList<string> LibraryNames => LibkrunLibrary.Candidates();

    public string Name => "libkrun";

    public BackendCheck Check()
    {
        var kvm = HostAccelerator.Kvm();
        if (!kvm.Usable) return new(false, $"libkrun needs hardware KVM: {kvm.Reason}");
        if (!LibkrunLibrary.TryFind(out var nameOrReason)) return new(false, nameOrReason);
        return new(true, $"{nameOrReason} with hardware KVM", "kvm");
    }

    public IVmInstance Create(VmConfig config)
    {
        if (config.Channel is not ("auto" or "vsock"))
            throw new VmException($"the libkrun backend reaches the agent over vsock only, not '{config.Channel}'");
        if (config.Accelerator is not ("auto" or "" or "kvm"))
            throw new VmException($"the libkrun backend runs on KVM only, not '{config.Accelerator}'");
        if (config.CpuModel is not null)
            throw new VmException($"the libkrun backend gives the guest the host's CPU; it has no CPU model to set ('{config.CpuModel}')");
        // What was asked for is judged before the host, so that a wrong request is named even where libkrun cannot run.
        var check = Check();
        if (!check.Usable) throw new VmException(check.Reason);
        return new LibkrunInstance(config, options);
    }

    /// <summary>Whether libkrun can be loaded here (its name), or why not.</summary>
    public static bool TryFindLibrary(out string nameOrReason) => LibkrunLibrary.TryFind(out nameOrReason);
}
