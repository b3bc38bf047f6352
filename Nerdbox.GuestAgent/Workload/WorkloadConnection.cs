using Microsoft.AspNetCore.Connections.Features;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// The container a connection belongs to, set by the listener that accepted it (never read from the
/// request), the protocol of the endpoint it came in on, and the container's export requests in flight
/// (shared by all its connections, so that many streams cannot hold many request bodies at once).
/// </summary>
internal sealed record WorkloadConnection(string ContainerId, WorkloadProtocol Protocol, SemaphoreSlim ExportsInFlight)
{
    /// <summary>The key in the connection's items.</summary>
    public static readonly object Key = typeof(WorkloadConnection);

    /// <summary>The workload connection a request came in on; null on the host channel.</summary>
    public static WorkloadConnection? Of(HttpContext http) =>
        http.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Key, out var value) == true ? value as WorkloadConnection : null;
}
