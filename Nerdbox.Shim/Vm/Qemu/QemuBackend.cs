namespace Nerdbox.Shim.Vm.Qemu;

/// <summary>
/// QEMU's microvm machine booting the kernel through its PVH entry: KVM where the host has
/// hardware KVM, TCG software emulation elsewhere; the agent channel is a virtio-serial port, or
/// vsock where the host offers /dev/vhost-vsock.
/// </summary>
public sealed class QemuBackend(string? qemuBinary = null) : IVmBackend
{
    public const string DefaultBinary = "qemu-system-x86_64";

    public string Name => "qemu";

    public string Binary { get; } = qemuBinary ?? Environment.GetEnvironmentVariable("NERDBOX_QEMU") ?? DefaultBinary;

    public BackendCheck Check()
    {
        var path = HostTools.Find(Binary);
        if (path is null)
            return new(false, $"{Binary} not found; install it with: apt-get install -y --no-install-recommends qemu-system-x86");
        var kvm = HostAccelerator.Kvm();
        return kvm.Usable
            ? new(true, $"{path} with hardware KVM", "kvm")
            : new(true, $"{path} with TCG software emulation ({kvm.Reason})", "tcg");
    }

    public IVmInstance Create(VmConfig config)
    {
        var path = HostTools.Find(Binary) ?? throw new VmException(Check().Reason);
        return new QemuInstance(path, config, ResolveAccelerator(config.Accelerator));
    }

    /// <summary>"auto" takes KVM only when it is hardware-backed; asking for KVM where it is not fails at once.</summary>
    public static string ResolveAccelerator(string requested)
    {
        var kvm = HostAccelerator.Kvm();
        return requested switch
        {
            "auto" or "" => kvm.Usable ? "kvm" : "tcg",
            "tcg" => "tcg",
            "kvm" when kvm.Usable => "kvm",
            "kvm" => throw new VmException($"KVM was asked for but cannot be used: {kvm.Reason}"),
            _ => throw new VmException($"unknown accelerator '{requested}': use auto, kvm or tcg"),
        };
    }
}
