using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;
using Nerdbox.GuestAgent.Channels;
using Nerdbox.GuestAgent.Workload;

namespace Nerdbox.GuestAgent.Server;

/// <summary>
/// Binds every endpoint the agent's server listens on: the guest's host channel (virtio-serial or vsock), the
/// workload endpoints' two listeners, and, in host mode, a unix socket through Kestrel's socket transport.
/// </summary>
internal sealed class AgentListenerFactory(WorkloadEndpoints workloads, ILoggerFactory loggers) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    // Made only in host mode: a VM's channels have their own listeners.
    private readonly Lazy<SocketTransportFactory> _sockets = new(() => new SocketTransportFactory(Options.Create(new SocketTransportOptions()), loggers));

    public bool CanBind(EndPoint endpoint) => endpoint is VirtioSerialEndPoint or VsockEndPoint or WorkloadEndPoint or UnixDomainSocketEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) => endpoint switch
    {
        VirtioSerialEndPoint v => new(new VirtioSerialListener(v)),
        VsockEndPoint v => new(VsockListener.Bind(v)),
        WorkloadEndPoint w => new(new WorkloadListener(w, workloads)),
        UnixDomainSocketEndPoint => _sockets.Value.BindAsync(endpoint, cancellationToken),
        _ => throw new NotSupportedException($"no listener for {endpoint}"),
    };
}
