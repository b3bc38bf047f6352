using System.Net;
using Microsoft.AspNetCore.Connections;
using Nerdbox.GuestAgent.Workload;

namespace Nerdbox.GuestAgent.Server;

/// <summary>Binds the workload endpoints' two listeners, the only ones Kestrel serves in the agent.</summary>
internal sealed class AgentListenerFactory(WorkloadEndpoints workloads) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is WorkloadEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) => endpoint switch
    {
        WorkloadEndPoint w => new(new WorkloadListener(w, workloads)),
        _ => throw new NotSupportedException($"no listener for {endpoint}"),
    };
}
