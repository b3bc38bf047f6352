using Nerdbox.Engine.Host;
namespace Nerdbox.Engine.Vm.Qemu;

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
        var accelerator = ResolveAccelerator(config.Accelerator);
        var channel = ResolveChannel(config.Channel, HostAccelerator.HasVhostVsock());
        return new QemuInstance(path, config, accelerator, channel, channel == "vsock" ? GuestCids.Allocate() : 0);
    }

    /// <summary>"auto" takes vsock where the host has /dev/vhost-vsock, else virtio-serial; asking for vsock where it is missing fails at once.</summary>
    public static string ResolveChannel(string requested, bool hostHasVhostVsock) => requested switch
    {
        "auto" or "" => hostHasVhostVsock ? "vsock" : "virtio-serial",
        "virtio-serial" => "virtio-serial",
        "vsock" when hostHasVhostVsock => "vsock",
        "vsock" => throw new VmException("vsock was asked for but this host has no /dev/vhost-vsock (load vhost_vsock, or use virtio-serial)"),
        _ => throw new VmException($"unknown agent channel '{requested}': use auto, vsock or virtio-serial"),
    };

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
