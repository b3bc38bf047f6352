using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>Yields the connections that every container's sockets of one protocol accepted.</summary>
internal sealed class WorkloadListener(WorkloadEndPoint endPoint, WorkloadEndpoints endpoints) : IConnectionListener
{
    private readonly CancellationTokenSource _unbound = new();

    public EndPoint EndPoint => endPoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
        try
        {
            var reader = endpoints.Connections(endPoint.Protocol);
            while (await reader.WaitToReadAsync(linked.Token))
                if (reader.TryRead(out var connection)) return connection;
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound.Cancel();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _unbound.Cancel();
        await endpoints.DisposeAsync();
    }
}
