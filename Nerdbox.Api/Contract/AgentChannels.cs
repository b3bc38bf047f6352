namespace Nerdbox.Api.Contract;

/// <summary>Where the shim finds the guest agent: the host channel's kinds, the virtio-serial port's name and the vsock port.</summary>
public static class AgentChannels
{
    public const string VirtioSerial = "virtio-serial";
    public const string Vsock = "vsock";

    /// <summary>The virtio-serial port's name; the guest finds its device under /sys/class/virtio-ports by it.</summary>
    public const string VirtioSerialPortName = "org.nerdbox.agent";

    /// <summary>The guest's vsock port the agent listens on.</summary>
    public const uint VsockPort = 1024;

    /// <summary>The largest message from the host to the agent: a bundle's files come in one.</summary>
    public const int MaxHostMessageBytes = 32 * 1024 * 1024;
}
