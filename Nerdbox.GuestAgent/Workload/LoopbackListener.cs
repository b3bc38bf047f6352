using System.Net;
using System.Runtime.InteropServices;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// A listening TCP socket on 127.0.0.1 in the calling thread's network namespace, made through libc: .NET's socket
/// machinery is first-use code that costs tens of milliseconds under emulation, and a container that never exports
/// should not pay it. Accepted connections become .NET sockets (<see cref="ContainerEndpoint"/>).
/// </summary>
internal static unsafe class LoopbackListener
{
    /// <summary><c>struct sockaddr_in</c>: the port and address in network byte order.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrIn
    {
        public ushort Family;
        public ushort Port;
        public uint Address;
        public ulong Zero;
    }

    /// <summary>Binds and listens on 127.0.0.1:<paramref name="port"/> (0: any free port); non-blocking, close-on-exec.</summary>
    public static int Listen(int port, int backlog)
    {
        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"cannot listen on 127.0.0.1:{port}: socket: {Libc.LastErrorText()}");
        // As .NET does for a listener: a port whose last connections wait out TIME_WAIT can be bound again.
        var one = 1;
        var address = new SockaddrIn
        {
            Family = Libc.AF_INET,
            Port = (ushort)IPAddress.HostToNetworkOrder((short)port),
            Address = BitConverter.ToUInt32([127, 0, 0, 1]),
        };
        if (Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, &one, sizeof(int)) != 0 ||
            Libc.Bind(fd, &address, sizeof(SockaddrIn)) != 0 || Libc.Listen(fd, backlog) != 0)
        {
            var error = Libc.LastErrorText();
            Libc.Close(fd);
            throw new IOException($"cannot listen on 127.0.0.1:{port}: {error}");
        }
        return fd;
    }

    /// <summary>The port a listening socket is bound to.</summary>
    public static int PortOf(int fd)
    {
        SockaddrIn address;
        var length = sizeof(SockaddrIn);
        if (Libc.GetSockName(fd, &address, &length) != 0) throw new IOException("getsockname: " + Libc.LastErrorText());
        return (ushort)IPAddress.NetworkToHostOrder((short)address.Port);
    }
}
