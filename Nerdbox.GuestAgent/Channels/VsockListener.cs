using Nerdbox.Api.Contract;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Channels;

/// <summary>A vsock port on any CID as the agent's endpoint.</summary>
internal sealed class VsockEndPoint(uint port) : EndPoint
{
    public uint Port { get; } = port;
    public override string ToString() => "vsock:" + Port;
}

/// <summary>
/// Listens on a vsock port. .NET refuses AF_VSOCK sockets, so the socket is made, bound and
/// accepted through libc; each accepted fd is then wrapped as a .NET socket stream.
/// accept() is not woken by shutdown() on vsock, so it runs with a receive timeout and looks
/// for unbinding between tries.
/// </summary>
internal sealed class VsockListener : IChannelListener
{

    private readonly int _fd;
    private volatile bool _unbound;


    private VsockListener(int fd)
    {
        _fd = fd;
    }

    /// <summary>Binds the port, or fails with the reason (e.g. the kernel has no vsock transport).</summary>
    public static unsafe VsockListener Bind(VsockEndPoint endPoint)
    {
        var fd = Libc.Socket(SockaddrVm.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new VsockUnavailableException($"vsock socket: {Libc.LastErrorText()}; the kernel has no vsock transport");
        var addr = SockaddrVm.For(SockaddrVm.CidAny, endPoint.Port);
        if (Libc.Bind(fd, &addr, sizeof(SockaddrVm)) != 0 || Libc.Listen(fd, 16) != 0)
        {
            var error = Libc.LastErrorText();
            Libc.Close(fd);
            throw new VsockUnavailableException($"vsock bind/listen on port {endPoint.Port}: {error}");
        }
        var timeout = new Libc.Timespec { Seconds = 0, Nanoseconds = 200_000 }; // struct timeval: 200 ms
        Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, &timeout, sizeof(Libc.Timespec));
        return new VsockListener(fd);
    }

    public bool OneConnectionAtATime => false;

    public async Task<Stream?> AcceptAsync(CancellationToken cancellationToken)
    {
        while (!_unbound && !cancellationToken.IsCancellationRequested)
        {
            var fd = await Task.Run(Accept, CancellationToken.None);
            if (fd >= 0)
            {
                var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
                return new NetworkStream(socket, ownsSocket: true);
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Libc.EAGAIN && errno != Libc.EINTR) throw new IOException("vsock accept: " + Libc.LastErrorText());
        }
        return null;
    }

    private unsafe int Accept() => Libc.Accept4(_fd, null, null, Libc.SOCK_CLOEXEC);

    public ValueTask DisposeAsync()
    {
        _unbound = true;
        Libc.Close(_fd);
        return ValueTask.CompletedTask;
    }
}

internal sealed class VsockUnavailableException(string message) : Exception(message);
