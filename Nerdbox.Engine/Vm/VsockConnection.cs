using Nerdbox.Api.Contract;
using System.Net.Sockets;
using Nerdbox.Engine.Vm.Native;

namespace Nerdbox.Engine.Vm;

/// <summary>
/// The host end of an AF_VSOCK stream. .NET will not make vsock sockets, so the socket is made
/// and connected through libc and the fd wrapped as a .NET socket afterwards.
/// </summary>
internal static class VsockConnection
{
    public static async ValueTask<Stream> ConnectAsync(uint cid, uint port, CancellationToken cancellationToken)
    {
        // connect() blocks (up to the kernel's vsock connect timeout) while the guest is not there yet.
        var connect = Task.Run(() => Connect(cid, port), CancellationToken.None);
        nint fd;
        try
        {
            fd = await connect.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The connect call cannot be interrupted; close what it makes.
            _ = connect.ContinueWith(t => Libc.Close((int)t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
            throw;
        }
        return new NetworkStream(new Socket(new SafeSocketHandle(fd, ownsHandle: true)), ownsSocket: true);
    }

    private static unsafe nint Connect(uint cid, uint port)
    {
        var fd = Libc.Socket(SockaddrVm.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException($"vsock socket: {Libc.LastErrorText()}");
        var address = SockaddrVm.For(cid, port);
        if (Libc.Connect(fd, &address, sizeof(SockaddrVm)) != 0)
        {
            var error = Libc.LastErrorText();
            Libc.Close(fd);
            throw new IOException($"vsock connect to {cid}:{port}: {error}");
        }
        return fd;
    }
}
