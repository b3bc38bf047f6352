using Nerdbox.Api.Contract;
using System.Net;
using System.Net.Sockets;
using Nerdbox.GuestAgent.Init;

namespace Nerdbox.GuestAgent.Channels;

/// <summary>
/// Where the agent serves. In a VM the shim says which on the kernel command line
/// (<c>nerdbox.channel=virtio-serial:NAME</c>, <c>vsock:PORT</c> or <c>auto</c>); on a host the
/// agent listens on a unix socket given with <c>--unix PATH</c>.
/// </summary>
internal static class AgentChannel
{
    public static EndPoint Resolve(string spec, TimeSpan wait)
    {
        if (spec.StartsWith("unix:", StringComparison.Ordinal)) return new UnixDomainSocketEndPoint(spec[5..]);
        if (spec.StartsWith("vsock:", StringComparison.Ordinal))
            return new VsockEndPoint(uint.TryParse(spec[6..], out var p) ? p : throw new ArgumentException($"bad vsock port in '{spec}'"));
        if (spec == "auto") return HasVsockTransport() ? new VsockEndPoint(AgentChannels.VsockPort) : FindVirtioPort(AgentChannels.VirtioSerialPortName, wait);
        if (spec.StartsWith("virtio-serial", StringComparison.Ordinal))
        {
            var name = spec.Length > "virtio-serial:".Length ? spec["virtio-serial:".Length..] : AgentChannels.VirtioSerialPortName;
            return FindVirtioPort(name, wait);
        }
        throw new ArgumentException($"unknown channel '{spec}': use virtio-serial[:NAME], vsock:PORT, unix:PATH or auto");
    }

    /// <summary>True when a virtio vsock device is bound to its transport driver.</summary>
    public static bool HasVsockTransport()
    {
        const string driver = "/sys/bus/virtio/drivers/vmw_vsock_virtio_transport";
        return Directory.Exists(driver) && Directory.EnumerateDirectories(driver, "virtio*").Any();
    }

    /// <summary>Finds the port named <paramref name="name"/> by its sysfs name (there is no udev), waiting for the driver.</summary>
    public static VirtioSerialEndPoint FindVirtioPort(string name, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            if (Directory.Exists("/sys/class/virtio-ports"))
            {
                foreach (var dir in Directory.EnumerateDirectories("/sys/class/virtio-ports"))
                {
                    var nameFile = Path.Combine(dir, "name");
                    if (File.Exists(nameFile) && File.ReadAllText(nameFile).Trim() == name)
                    {
                        var dev = "/dev/" + Path.GetFileName(dir);
                        if (File.Exists(dev)) return new VirtioSerialEndPoint(dev);
                    }
                }
            }
            if (DateTime.UtcNow > deadline)
                throw new IOException($"no virtio-serial port named '{name}' appeared within {wait.TotalSeconds:0}s");
            Thread.Sleep(5);
        }
    }
}
