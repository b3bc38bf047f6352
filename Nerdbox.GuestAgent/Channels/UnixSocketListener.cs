using System.Net.Sockets;

namespace Nerdbox.GuestAgent.Channels;

/// <summary>A unix socket the agent listens on as a host process (tests, benchmarks), in place of a VM's channel.</summary>
internal sealed class UnixSocketListener(Socket socket) : IChannelListener
{
    public static UnixSocketListener Bind(UnixDomainSocketEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(16);
            return new UnixSocketListener(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public bool OneConnectionAtATime => false;

    public async Task<Stream?> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new NetworkStream(await socket.AcceptAsync(cancellationToken), ownsSocket: true);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || cancellationToken.IsCancellationRequested)
            {
                return null;
            }
            catch (SocketException)
            {
                // The peer gave up before the accept (ECONNABORTED): take the next.
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
