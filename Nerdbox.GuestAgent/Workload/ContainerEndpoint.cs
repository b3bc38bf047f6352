using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// One container's OTLP endpoint: its two listening sockets (gRPC and HTTP), made wherever the caller
/// stands (inside the container's network namespace, or on the host's loopback for tests), and the loops
/// that accept on them and hand each connection, marked with the container, to the agent's Kestrel.
/// A container may hold at most <see cref="MaxConnections"/> connections at once, and have at most
/// <see cref="MaxExportsInFlight"/> export requests in progress.
/// </summary>
internal sealed class ContainerEndpoint : IAsyncDisposable
{
    public const int MaxConnections = 16;

    /// <summary>Export requests a container may have read and decoded at once; one more is answered "busy, retry".</summary>
    public const int MaxExportsInFlight = 2;
    private const int Backlog = 16;

    private readonly Socket _grpc;
    private readonly Socket _http;
    private readonly CancellationTokenSource _closed = new();
    private readonly ConcurrentDictionary<ConnectionContext, byte> _live = new();
    private readonly List<Task> _loops = [];
    private readonly SemaphoreSlim _exports = new(MaxExportsInFlight);
    private int _connections;

    private ContainerEndpoint(string containerId, Socket grpc, Socket http)
    {
        ContainerId = containerId;
        _grpc = grpc;
        _http = http;
    }

    public string ContainerId { get; }
    public IPEndPoint GrpcAddress => (IPEndPoint)_grpc.LocalEndPoint!;
    public IPEndPoint HttpAddress => (IPEndPoint)_http.LocalEndPoint!;

    /// <summary>Connections refused because the container held <see cref="MaxConnections"/> already.</summary>
    public long ConnectionsRefused;

    /// <summary>Makes and binds both sockets in the calling thread's network namespace; accepting starts with <see cref="Start"/>.</summary>
    public static ContainerEndpoint Listen(string containerId, IPEndPoint grpc, IPEndPoint http)
    {
        var g = Bind(grpc);
        try
        {
            return new ContainerEndpoint(containerId, g, Bind(http));
        }
        catch
        {
            g.Dispose();
            throw;
        }
    }

    private static Socket Bind(IPEndPoint address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(address);
            socket.Listen(Backlog);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new IOException($"cannot listen on {address}: {e.Message}", e);
        }
    }

    /// <summary>Starts accepting; <paramref name="connected"/> is told of each connection before it is handed on.</summary>
    public void Start(SocketConnectionContextFactory factory, ChannelWriter<ConnectionContext> grpc, ChannelWriter<ConnectionContext> http, Action connected)
    {
        _loops.Add(AcceptLoopAsync(_grpc, new WorkloadConnection(ContainerId, WorkloadProtocol.Grpc, _exports), factory, grpc, connected));
        _loops.Add(AcceptLoopAsync(_http, new WorkloadConnection(ContainerId, WorkloadProtocol.Http, _exports), factory, http, connected));
    }

    private async Task AcceptLoopAsync(Socket listener, WorkloadConnection tag, SocketConnectionContextFactory factory, ChannelWriter<ConnectionContext> kestrel,
        Action connected)
    {
        while (!_closed.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(_closed.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || _closed.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // the peer gave up before the accept (ECONNABORTED): take the next
            }
            if (Interlocked.Increment(ref _connections) > MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                Interlocked.Increment(ref ConnectionsRefused);
                accepted.Dispose();
                continue;
            }
            connected();
            var connection = factory.Create(accepted);
            connection.Items[WorkloadConnection.Key] = tag;
            _live[connection] = 0;
            connection.ConnectionClosed.Register(() =>
            {
                if (_live.TryRemove(connection, out _)) Interlocked.Decrement(ref _connections);
            });
            if (!kestrel.TryWrite(connection)) connection.Abort(new ConnectionAbortedException("the agent is stopping"));
        }
    }

    /// <summary>Stops listening and ends the container's open connections.</summary>
    public async ValueTask DisposeAsync()
    {
        _closed.Cancel();
        _grpc.Dispose();
        _http.Dispose();
        foreach (var connection in _live.Keys) connection.Abort(new ConnectionAbortedException($"container '{ContainerId}' was deleted"));
        await Task.WhenAll(_loops);
        _closed.Dispose();
    }
}
