using Nerdbox.Api.Traces.V1;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// What became of one container's own telemetry: what the host received, forwarded and dropped by its
/// bounds, and what the guest's endpoint for it last reported (dropped in the guest, requests and items rejected).
/// </summary>
public sealed class WorkloadRelayStats(string containerId)
{
    private long _spansReceived, _spansForwarded, _spansDropped, _logsReceived, _logsForwarded, _logsDropped;
    private WorkloadStats? _guest;

    public string ContainerId { get; } = containerId;

    public long SpansReceived => Interlocked.Read(ref _spansReceived);
    public long SpansForwarded => Interlocked.Read(ref _spansForwarded);

    /// <summary>Spans the host dropped (its bounds; the reasons are in <see cref="RelayStats.DroppedByReason"/>).</summary>
    public long SpansDropped => Interlocked.Read(ref _spansDropped);

    public long LogsReceived => Interlocked.Read(ref _logsReceived);
    public long LogsForwarded => Interlocked.Read(ref _logsForwarded);
    /// <summary>Log records the host dropped (its bounds, or no log destination; see <see cref="RelayStats.LogsDroppedByReason"/>).</summary>
    public long LogsDropped => Interlocked.Read(ref _logsDropped);

    /// <summary>The guest endpoint's counters as last reported (zeros until a report came).</summary>
    public WorkloadStats Guest => Volatile.Read(ref _guest) ?? new WorkloadStats { ContainerId = ContainerId };

    /// <summary>Whether anything at all arrived or was refused: a container worth a line in a report.</summary>
    public bool HasTelemetry => SpansReceived + LogsReceived > 0 || Guest is { } g && g.SpansReceived + g.LogsReceived + g.RequestsRejected + g.ItemsRejected > 0;

    /// <summary>Whether anything was lost or refused anywhere: the host's bounds, the guest's share, or the endpoint's checks.</summary>
    public bool Lost => SpansDropped + LogsDropped > 0 || Guest is { } g && g.SpansDropped + g.LogsDropped + g.RequestsRejected + g.ItemsRejected > 0;

    internal void AddSpans(long received, long forwarded)
    {
        Interlocked.Add(ref _spansReceived, received);
        Interlocked.Add(ref _spansForwarded, forwarded);
        Interlocked.Add(ref _spansDropped, received - forwarded);
    }

    internal void AddLogs(long received, long forwarded)
    {
        Interlocked.Add(ref _logsReceived, received);
        Interlocked.Add(ref _logsForwarded, forwarded);
        Interlocked.Add(ref _logsDropped, received - forwarded);
    }

    internal void SetGuest(WorkloadStats stats) => Volatile.Write(ref _guest, stats);

    /// <summary>One line: what arrived, and every loss, named by where it happened.</summary>
    public override string ToString()
    {
        var g = Guest;
        var line = $"container {ContainerId}: {SpansForwarded} spans, {LogsForwarded} logs";
        var lost = new List<string>();
        if (g.SpansDropped + g.LogsDropped > 0) lost.Add($"dropped in guest {g.SpansDropped} spans, {g.LogsDropped} logs");
        if (SpansDropped + LogsDropped > 0) lost.Add($"dropped by host {SpansDropped} spans, {LogsDropped} logs");
        if (g.RequestsRejected + g.ItemsRejected > 0) lost.Add($"rejected {g.RequestsRejected} requests, {g.ItemsRejected} items");
        return lost.Count == 0 ? line : $"{line}; {string.Join("; ", lost)}";
    }
}
