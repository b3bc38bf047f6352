using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// One container's OTLP endpoint: its two listening sockets (gRPC and HTTP), made wherever the acceptor's thread
/// stands (inside the container's network namespace, or on the host's loopback for tests), and the hand-over of each
/// connection the acceptor takes on them, marked with the container, to the agent's Kestrel.
/// A container may hold at most <see cref="MaxConnections"/> connections at once, and have at most
/// <see cref="MaxExportsInFlight"/> export requests in progress.
/// </summary>
internal sealed class ContainerEndpoint : IAsyncDisposable
{
    public const int MaxConnections = 16;

    /// <summary>Export requests a container may have read and decoded at once; one more is answered "busy, retry".</summary>
    public const int MaxExportsInFlight = 2;
    private const int Backlog = 16;

    private readonly WorkloadAcceptor _acceptor;
    private readonly int _grpc;
    private readonly int _http;
    private readonly ConcurrentDictionary<ConnectionContext, byte> _live = new();
    private readonly SemaphoreSlim _exports = new(MaxExportsInFlight);
    private int _connections;
    private int _closed;

    private ContainerEndpoint(string containerId, WorkloadAcceptor acceptor, int grpc, int http)
    {
        ContainerId = containerId;
        _acceptor = acceptor;
        _grpc = grpc;
        _http = http;
        GrpcAddress = new IPEndPoint(IPAddress.Loopback, LoopbackListener.PortOf(grpc));
        HttpAddress = new IPEndPoint(IPAddress.Loopback, LoopbackListener.PortOf(http));
    }

    public string ContainerId { get; }
    public IPEndPoint GrpcAddress { get; }
    public IPEndPoint HttpAddress { get; }

    /// <summary>Connections refused because the container held <see cref="MaxConnections"/> already.</summary>
    public long ConnectionsRefused;

    /// <summary>
    /// On the acceptor's thread: makes and binds both sockets in its current network namespace; accepting starts with
    /// <see cref="Start"/>.
    /// </summary>
    public static ContainerEndpoint Listen(string containerId, WorkloadAcceptor acceptor, int grpcPort, int httpPort)
    {
        var grpc = LoopbackListener.Listen(grpcPort, Backlog);
        var http = -1;
        try
        {
            http = LoopbackListener.Listen(httpPort, Backlog);
            return new ContainerEndpoint(containerId, acceptor, grpc, http);
        }
        catch
        {
            acceptor.Close(grpc);
            if (http >= 0) acceptor.Close(http);
            throw;
        }
    }

    /// <summary>Starts accepting; <paramref name="connected"/> is told of each connection before it is handed on.</summary>
    public void Start(Func<SocketConnectionContextFactory> factory, ChannelWriter<ConnectionContext> grpc, ChannelWriter<ConnectionContext> http, Action connected)
    {
        var grpcTag = new WorkloadConnection(ContainerId, WorkloadProtocol.Grpc, _exports);
        var httpTag = new WorkloadConnection(ContainerId, WorkloadProtocol.Http, _exports);
        _acceptor.Run(() =>
        {
            _acceptor.Watch(_grpc, fd => Accepted(fd, grpcTag, factory, grpc, connected));
            _acceptor.Watch(_http, fd => Accepted(fd, httpTag, factory, http, connected));
            return true;
        });
    }

    /// <summary>On the acceptor's thread: a connection becomes a .NET socket and a Kestrel connection, unless the container holds too many.</summary>
    private void Accepted(int fd, WorkloadConnection tag, Func<SocketConnectionContextFactory> factory, ChannelWriter<ConnectionContext> kestrel, Action connected)
    {
        Socket socket;
        try
        {
            socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
        if (Interlocked.Increment(ref _connections) > MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            Interlocked.Increment(ref ConnectionsRefused);
            socket.Dispose();
            return;
        }
        connected();
        var connection = factory().Create(socket);
        connection.Items[WorkloadConnection.Key] = tag;
        _live[connection] = 0;
        connection.ConnectionClosed.Register(() =>
        {
            if (_live.TryRemove(connection, out _)) Interlocked.Decrement(ref _connections);
        });
        if (!kestrel.TryWrite(connection)) connection.Abort(new ConnectionAbortedException("the agent is stopping"));
    }

    /// <summary>Stops listening and ends the container's open connections.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1) return ValueTask.CompletedTask;
        try
        {
            _acceptor.Run(() =>
            {
                _acceptor.Close(_grpc);
                _acceptor.Close(_http);
                return true;
            });
        }
        catch (ObjectDisposedException)
        {
            // The acceptor closed every socket when it stopped.
        }
        foreach (var connection in _live.Keys) connection.Abort(new ConnectionAbortedException($"container '{ContainerId}' was deleted"));
        return ValueTask.CompletedTask;
    }
}
