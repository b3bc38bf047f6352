namespace Nerdbox.Engine.Clock;

/// <summary>
/// How the guest's clocks relate to the host's. <see cref="OffsetNs"/> is guest wall clock minus
/// host wall clock (subtract it from a guest timestamp to get host time); <see cref="UncertaintyNs"/>
/// is half the round trip of the probe it came from. <see cref="GuestBootZeroUtc"/> is when, on
/// the host's clock, the guest's boot clock read zero.
/// </summary>
/// <remarks>The only place guest times become host times: span timestamps, boot-clock points and exit times all go through it.</remarks>
public sealed record ClockEstimate(long OffsetNs, long UncertaintyNs, DateTime GuestBootZeroUtc, long OffsetBeforeSetNs, int Probes)
{
    public static readonly ClockEstimate None = new(0, 0, DateTime.MinValue, 0, 0);

    /// <summary>Whether a sync ran; without one, guest times cannot be placed.</summary>
    public bool IsSynced => Probes > 0;

    /// <summary>A guest wall-clock time (Unix nanoseconds) on the host's clock, in Unix nanoseconds.</summary>
    public long ToHostUnixNano(ulong guestUnixNano) => (long)guestUnixNano - OffsetNs;

    /// <summary>A guest wall-clock time (Unix nanoseconds) on the host's clock.</summary>
    public DateTime ToHostUtc(ulong guestUnixNano) => Clamped(DateTime.UnixEpoch, ToHostUnixNano(guestUnixNano) / 100);

    /// <summary>A guest boot-clock reading (nanoseconds since the guest kernel started) on the host's clock.</summary>
    public DateTime BootClockToHostUtc(ulong guestBootNs) => Clamped(GuestBootZeroUtc, (long)(guestBootNs / 100));

    // Guest readings are the guest's word: one far out of range lands at the edge of time, not in an exception.
    private static DateTime Clamped(DateTime origin, long ticks) =>
        ticks > (DateTime.MaxValue - origin).Ticks ? DateTime.MaxValue
        : ticks < (DateTime.MinValue - origin).Ticks ? DateTime.MinValue
        : origin.AddTicks(ticks);

    /// <summary>How far off a placed guest time may be.</summary>
    public TimeSpan Uncertainty => TimeSpan.FromTicks(UncertaintyNs / 100);
}
