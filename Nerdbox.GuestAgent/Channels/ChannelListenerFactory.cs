using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Nerdbox.GuestAgent.Channels;

/// <summary>Lets Kestrel bind the guest's own channel endpoints; unix sockets stay with Kestrel's socket transport.</summary>
internal sealed class ChannelListenerFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is VirtioSerialEndPoint or VsockEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) => endpoint switch
    {
        VirtioSerialEndPoint v => new(new VirtioSerialListener(v)),
        VsockEndPoint v => new(VsockListener.Bind(v)),
        _ => throw new NotSupportedException($"no listener for {endpoint}"),
    };
}
