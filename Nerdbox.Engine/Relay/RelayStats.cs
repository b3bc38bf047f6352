using System.Diagnostics.Metrics;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Relay;

/// <summary>What the relay did with a VM's spans; the totals also go to the Nerdbox.Shim meter.</summary>
public sealed class RelayStats
{
    private static readonly Counter<long> ForwardedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.relay.spans_forwarded", description: "guest spans forwarded to the sinks");
    private static readonly Counter<long> DroppedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.relay.spans_dropped", description: "guest spans dropped by the host, by reason");
    private static readonly Counter<long> TruncatedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.relay.values_truncated", description: "names, attributes, events or links cut to the bounds");
    private static readonly Counter<long> GuestDroppedCounter = ShimTracing.Meter.CreateCounter<long>("nerdbox.guest.spans_dropped", description: "spans the guest's buffer dropped before the host read them");

    private long _received, _forwarded, _truncated, _guestDropped, _rateWaits;
    private readonly Dictionary<string, long> _dropped = new();

    public long Received => Interlocked.Read(ref _received);
    public long Forwarded => Interlocked.Read(ref _forwarded);
    public long TruncatedValues => Interlocked.Read(ref _truncated);

    /// <summary>Batches held back by the rate bound (the relay stopped reading the guest's stream until it allowed them).</summary>
    public long RateWaits => Interlocked.Read(ref _rateWaits);

    /// <summary>The guest buffer's own drop count, as last reported in a batch.</summary>
    public long GuestDroppedSpans => Interlocked.Read(ref _guestDropped);

    public long DroppedByHost { get { lock (_dropped) return _dropped.Values.Sum(); } }

    public IReadOnlyDictionary<string, long> DroppedByReason { get { lock (_dropped) return new Dictionary<string, long>(_dropped); } }

    internal long AddReceived(long n) => Interlocked.Add(ref _received, n);

    internal void AddForwarded(long n)
    {
        Interlocked.Add(ref _forwarded, n);
        ForwardedCounter.Add(n);
    }

    internal void AddDropped(string reason, long n = 1)
    {
        lock (_dropped) _dropped[reason] = _dropped.GetValueOrDefault(reason) + n;
        DroppedCounter.Add(n, new KeyValuePair<string, object?>("reason", reason));
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
