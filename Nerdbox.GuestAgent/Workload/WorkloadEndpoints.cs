using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Nerdbox.Api.Contract;
using Nerdbox.GuestAgent.Tracing;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// Every container's OTLP endpoint, opened when its container is created and closed when it is deleted.
/// Their connections flow to the agent's Kestrel, started at the first of them, through two listeners (<see cref="WorkloadListener"/>),
/// one per protocol; nothing here costs anything until a container is given an endpoint.
/// </summary>
internal sealed class WorkloadEndpoints : IAsyncDisposable
{
    public const int GrpcPort = GuestBundleLayout.WorkloadGrpcPort;
    public const int HttpPort = GuestBundleLayout.WorkloadHttpPort;


    private readonly ConcurrentDictionary<string, ContainerEndpoint> _open = new(StringComparer.Ordinal);
    private readonly Channel<ConnectionContext> _grpc = Channel.CreateUnbounded<ConnectionContext>();
    private readonly Channel<ConnectionContext> _http = Channel.CreateUnbounded<ConnectionContext>();
    private readonly Lazy<SocketConnectionContextFactory> _factory =
        new(() => new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), NullLogger.Instance));
    private readonly Lazy<WorkloadAcceptor> _acceptor = new(() => new WorkloadAcceptor());

    /// <summary>Called once, when any container's endpoint accepts its first connection (the agent starts Kestrel then).</summary>
    public Action? FirstConnection { get; set; }

    private int _connected;

    public ChannelReader<ConnectionContext> Connections(WorkloadProtocol protocol) =>
        protocol == WorkloadProtocol.Grpc ? _grpc.Reader : _http.Reader;

    public bool IsOpen(string containerId) => _open.ContainsKey(containerId);

    /// <summary>
    /// Opens the endpoint on 127.0.0.1:4317 and :4318 inside the network namespace at <paramref name="netnsPath"/>
    /// (the created container's), bringing its loopback interface up if it is down. Returns whether it had to.
    /// </summary>
    public bool OpenInNamespace(string containerId, string netnsPath)
    {
        var acceptor = _acceptor.Value;
        var (endpoint, broughtUp) = acceptor.Run(() =>
        {
            using var inside = NetworkNamespace.Enter(netnsPath);
            var up = NetworkNamespace.BringLoopbackUp();
            return (ContainerEndpoint.Listen(containerId, acceptor, GrpcPort, HttpPort), up);
        });
        Add(endpoint);
        return broughtUp;
    }

    /// <summary>
    /// For a host process only (tests, benchmarks): an endpoint for a named pseudo-container on the host's
    /// loopback (port 0 picks free ports). The same path as a container's once the sockets exist.
    /// </summary>
    public ContainerEndpoint OpenOnLoopback(string containerId, int grpcPort, int httpPort)
    {
        var acceptor = _acceptor.Value;
        var endpoint = acceptor.Run(() => ContainerEndpoint.Listen(containerId, acceptor, grpcPort, httpPort));
        Add(endpoint);
        return endpoint;
    }

    private void Add(ContainerEndpoint endpoint)
    {
        if (!_open.TryAdd(endpoint.ContainerId, endpoint))
        {
            _ = endpoint.DisposeAsync();
            throw new InvalidOperationException($"container '{endpoint.ContainerId}' has an OTLP endpoint already");
        }
        GuestTracing.Buffer.Workloads.Open(endpoint.ContainerId);
        endpoint.Start(() => _factory.Value, _grpc.Writer, _http.Writer, Connected);
    }

    private void Connected()
    {
        if (Interlocked.Exchange(ref _connected, 1) == 0) FirstConnection?.Invoke();
    }

    /// <summary>Closes a container's endpoint, if it has one; its counters stay for the host to read.</summary>
    public async Task CloseAsync(string containerId)
    {
        if (!_open.TryRemove(containerId, out var endpoint)) return;
        GuestTracing.Buffer.Workloads.Close(containerId);
        await endpoint.DisposeAsync();
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _grpc.Writer.TryComplete();
        _http.Writer.TryComplete();
        foreach (var id in _open.Keys) await CloseAsync(id);
        if (_acceptor.IsValueCreated) _acceptor.Value.Dispose();
        if (_factory.IsValueCreated) _factory.Value.Dispose();
    }
}
