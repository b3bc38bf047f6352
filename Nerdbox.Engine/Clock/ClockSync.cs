using System.Diagnostics;
using Nerdbox.Api.System.V1;

namespace Nerdbox.Engine.Clock;

/// <summary>
/// Sets the guest clock at first contact (its RTC gives it whole seconds only, off by up to ~1.5 s),
/// then estimates what remains from several timestamped round trips, trusting the one with the
/// lowest round trip, as NTP does.
/// </summary>
public static class ClockSync
{
    public const int DefaultProbes = 8;

    public static long HostNowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public static async Task<ClockEstimate> SyncAsync(Api.System.V1.System.SystemClient system, int probes, CancellationToken ct)
    {
        // A first probe gives the one-way delay, so the set lands close to the host's time.
        var first = await ProbeAsync(system, ct);
        var before = await system.SetTimeAsync(new SetTimeRequest { HostTimeUnixNano = (ulong)(HostNowNs() + first.RoundTripNs / 2) }, cancellationToken: ct);
        var offsetBefore = first.OffsetNs;
        _ = before;
        var best = await BestProbeAsync(system, probes, ct);
        var bootZero = new DateTime(DateTime.UnixEpoch.Ticks + (best.HostMidNs - best.GuestBootNs) / 100, DateTimeKind.Utc);
        return new ClockEstimate(best.OffsetNs, best.RoundTripNs / 2, bootZero, offsetBefore, probes);
    }

    /// <summary>One timestamped round trip: the guest's offset seen from its midpoint, and how long it took.</summary>
    public readonly record struct Probe(long OffsetNs, long RoundTripNs, long HostMidNs, long GuestBootNs);

    /// <summary>The probe with the lowest round trip of <paramref name="probes"/>, without changing the guest's clock.</summary>
    public static async Task<Probe> BestProbeAsync(Api.System.V1.System.SystemClient system, int probes, CancellationToken ct)
    {
        Probe best = default;
        for (var i = 0; i < Math.Max(1, probes); i++)
        {
            var p = await ProbeAsync(system, ct);
            if (i == 0 || p.RoundTripNs < best.RoundTripNs) best = p;
        }
        return best;
    }

    private static async Task<Probe> ProbeAsync(Api.System.V1.System.SystemClient system, CancellationToken ct)
    {
        var t0 = HostNowNs();
        var sw = Stopwatch.StartNew();
        var r = await system.ProbeClockAsync(new ProbeClockRequest { HostSendUnixNano = (ulong)t0 }, cancellationToken: ct);
        var rtt = (long)(sw.Elapsed.TotalMilliseconds * 1_000_000);
        var mid = t0 + rtt / 2;
        // The guest's boot clock cannot have started before the Unix epoch; an answer that says so is refused by name.
        if (r.GuestBootNs > (ulong)mid || r.GuestTimeUnixNano > long.MaxValue)
            throw new InvalidDataException($"the guest's clock probe answer is out of range (boot clock {r.GuestBootNs} ns, wall clock {r.GuestTimeUnixNano} ns)");
        return new Probe((long)r.GuestTimeUnixNano - mid, rtt, mid, (long)r.GuestBootNs);
    }
}
