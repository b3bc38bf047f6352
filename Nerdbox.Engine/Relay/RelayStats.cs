using System.Diagnostics.Metrics;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// What the relay did with a VM's spans (the agent's and its workloads' together); the totals also go to the
/// Nerdbox.Shim meter. Each container's own telemetry is counted apart as well (<see cref="Workloads"/>).
/// </summary>
public sealed class RelayStats
{
    private static readonly Counter<long> ForwardedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.relay.spans_forwarded", description: "guest spans forwarded to the sinks");
    private static readonly Counter<long> DroppedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.relay.spans_dropped", description: "guest spans dropped by the host, by reason");
    private static readonly Counter<long> TruncatedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.relay.values_truncated", description: "names, attributes, events or links cut to the bounds");
    private static readonly Counter<long> GuestDroppedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.guest.spans_dropped", description: "spans the guest's buffer dropped before the host read them");

    private long _received, _forwarded, _truncated, _guestDropped, _rateWaits;
    private readonly Dictionary<string, long> _dropped = new();
    private readonly Dictionary<string, long> _logsDropped = new();
    private readonly Dictionary<string, WorkloadRelayStats> _workloads = new(StringComparer.Ordinal);

    public long Received => Interlocked.Read(ref _received);
    public long Forwarded => Interlocked.Read(ref _forwarded);
    public long TruncatedValues => Interlocked.Read(ref _truncated);

    /// <summary>Batches held back by the rate bound (the relay stopped reading the guest's stream until it allowed them).</summary>
    public long RateWaits => Interlocked.Read(ref _rateWaits);

    /// <summary>The guest buffer's own drop count, as last reported in a batch.</summary>
    public long GuestDroppedSpans => Interlocked.Read(ref _guestDropped);

    public long DroppedByHost { get { lock (_dropped) return _dropped.Values.Sum(); } }

    public IReadOnlyDictionary<string, long> DroppedByReason { get { lock (_dropped) return new Dictionary<string, long>(_dropped); } }

    /// <summary>Each container whose endpoint sent or refused anything, in the order first seen.</summary>
    public IReadOnlyList<WorkloadRelayStats> Workloads { get { lock (_workloads) return [.. _workloads.Values]; } }

    /// <summary>The container's counters, made on first sight; null once <paramref name="maxContainers"/> are tracked (the guest names them, so they are bounded).</summary>
    internal WorkloadRelayStats? Workload(string containerId, int maxContainers)
    {
        lock (_workloads)
        {
            if (_workloads.TryGetValue(containerId, out var stats)) return stats;
            if (_workloads.Count >= maxContainers) return null;
            return _workloads[containerId] = new WorkloadRelayStats(containerId);
        }
    }

    /// <summary>The guest's own counters, from a batch or a drain answer.</summary>
    internal void SetGuest(BufferStats stats, RelayBounds bounds)
    {
        SetGuestDropped((long)stats.SpansDropped);
        foreach (var w in stats.Workloads)
            if (WorkloadRelay.ContainerId(w.ContainerId, bounds) is { } id && Workload(id, bounds.MaxWorkloadContainers) is { } container)
                container.SetGuest(w);
    }

    internal long AddReceived(long n) => Interlocked.Add(ref _received, n);

    internal void AddForwarded(long n)
    {
        if (n == 0) return;
        Interlocked.Add(ref _forwarded, n);
        ForwardedCounter.Add(n);
    }

    internal void AddDropped(string reason, long n = 1)
    {
        if (n == 0) return;
        lock (_dropped) _dropped[reason] = _dropped.GetValueOrDefault(reason) + n;
        DroppedCounter.Add(n, new KeyValuePair<string, object?>("reason", reason));
    }

    /// <summary>Workload log records the host dropped, by reason (the per-container counts are in <see cref="Workloads"/>).</summary>
    public IReadOnlyDictionary<string, long> LogsDroppedByReason { get { lock (_logsDropped) return new Dictionary<string, long>(_logsDropped); } }

    internal void AddLogsDropped(string reason, long n = 1)
    {
        if (n == 0) return;
        lock (_logsDropped) _logsDropped[reason] = _logsDropped.GetValueOrDefault(reason) + n;
    }

    internal void AddRateWait() => Interlocked.Increment(ref _rateWaits);

    internal void AddTruncated(long n)
    {
        if (n == 0) return;
        Interlocked.Add(ref _truncated, n);
        TruncatedCounter.Add(n);
    }

    internal void SetGuestDropped(long total)
    {
        var before = Interlocked.Exchange(ref _guestDropped, total);
        if (total > before) GuestDroppedCounter.Add(total - before);
    }

    public override string ToString() =>
        $"received {Received}, forwarded {Forwarded}, dropped by host {DroppedByHost}" +
        (DroppedByHost > 0 ? $" ({string.Join(", ", DroppedByReason.Select(kv => $"{kv.Key}: {kv.Value}"))})" : "") +
        $", dropped in guest {GuestDroppedSpans}, values truncated {TruncatedValues}" +
        (RateWaits > 0 ? $", {RateWaits} batches held back by the rate bound" : "");
}
