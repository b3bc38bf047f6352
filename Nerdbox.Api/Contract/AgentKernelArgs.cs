namespace Nerdbox.Api.Contract;

/// <summary>
/// The agent's settings on the guest kernel command line, as <c>KEY=VALUE</c> words: the shim writes
/// them, the agent (as the VM's init) reads them from /proc/cmdline.
/// </summary>
public static class AgentKernelArgs
{
    /// <summary>Which channel the agent serves on: <c>virtio-serial:NAME</c>, <c>vsock:PORT</c> or <c>auto</c>.</summary>
    public const string Channel = "nerdbox.channel";

    /// <summary>Bounds of the guest span buffer, in spans and in bytes.</summary>
    public const string SpanBufferSpans = "nerdbox.spans.max";
    public const string SpanBufferBytes = "nerdbox.spans.max_bytes";

    /// <summary>Bounds of the workloads' share of the guest buffer, in items (spans and log records) and bytes.</summary>
    public const string WorkloadBufferItems = "nerdbox.workload.max";
    public const string WorkloadBufferBytes = "nerdbox.workload.max_bytes";

    /// <summary>
    /// <c>nerdbox.rootfs=initramfs</c>: the container's rootfs came in the initramfs (<see cref="GuestBundleLayout.InitramfsRootfs"/>)
    /// and the VM has no disk, so the agent loads no disk or file-system driver.
    /// </summary>
    public const string Rootfs = "nerdbox.rootfs";

    /// <summary><see cref="Rootfs"/>'s value for a rootfs that came in the initramfs. The class's constants are its keys; this is a value.</summary>
    public static readonly string RootfsInInitramfs = "initramfs";

    /// <summary>Verbose agent logging on the console.</summary>
    public const string Debug = "nerdbox.debug";

    public static string Word(string key, object value) => $"{key}={value}";

    public static string VirtioSerialChannel(string portName) => Word(Channel, $"{AgentChannels.VirtioSerial}:{portName}");

    public static string VsockChannel(uint port) => Word(Channel, $"{AgentChannels.Vsock}:{port}");
}
