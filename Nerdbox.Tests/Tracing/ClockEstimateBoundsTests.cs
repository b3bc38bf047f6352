using Nerdbox.Engine.Clock;

namespace Nerdbox.Tests.Tracing;

/// <summary>Guest times are the guest's word: any reading maps to a host time, never to an exception.</summary>
public class ClockEstimateBoundsTests
{
    private static readonly ClockEstimate Estimate = new(OffsetNs: 1_000, UncertaintyNs: 10, GuestBootZeroUtc: new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), 0, 1);

    [Fact]
    public void A_boot_clock_reading_past_the_end_of_time_lands_at_the_end()
    {
        var lateZero = Estimate with { GuestBootZeroUtc = DateTime.MaxValue.AddYears(-100) };
        Assert.Equal(DateTime.MaxValue, lateZero.BootClockToHostUtc(ulong.MaxValue));
    }

    [Fact]
    public void Any_wall_clock_reading_is_a_time()
    {
        Assert.Equal(DateTime.UnixEpoch.AddTicks((long.MaxValue - 1_000) / 100), Estimate.ToHostUtc(long.MaxValue));
        // ulong.MaxValue reads as -1 ns after the cast: a time just before the epoch, still a time.
        Assert.Equal(DateTime.UnixEpoch.AddTicks(-10), Estimate.ToHostUtc(ulong.MaxValue));
    }

    [Fact]
    public void An_ordinary_reading_is_shifted_by_the_offset()
    {
        Assert.Equal(DateTime.UnixEpoch.AddTicks(1_000), Estimate.ToHostUtc(101_000));
        Assert.Equal(Estimate.GuestBootZeroUtc.AddMilliseconds(5), Estimate.BootClockToHostUtc(5_000_000));
    }
}
