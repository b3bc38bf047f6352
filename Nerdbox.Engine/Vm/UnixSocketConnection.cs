using System.Net.Sockets;

namespace Nerdbox.Engine.Vm;

/// <summary>The host end of an agent channel that the VMM exposes as a unix socket.</summary>
public static class UnixSocketConnection
{
    public static async ValueTask<Stream> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
