using System.Threading.RateLimiting;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// Holds the relay to <see cref="RelayBounds.MaxSpansPerSecond"/>: spans beyond the rate wait for
/// tokens, so the relay reads the guest's stream no faster and the guest's own buffer holds the rest
/// (dropping, and counting, only when it is full). A token bucket with a burst of one second's worth.
/// </summary>
internal sealed class RelayPace : IDisposable
{
    private const int PeriodsPerSecond = 20;

    private readonly TokenBucketRateLimiter _limiter;
    private readonly int _burst;

    public RelayPace(double spansPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(spansPerSecond);
        _burst = (int)Math.Clamp(spansPerSecond, 1, int.MaxValue);
        var perPeriod = (int)Math.Max(1, spansPerSecond / PeriodsPerSecond);
        _limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = _burst,
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds(perPeriod / spansPerSecond),
            AutoReplenishment = true,
            QueueLimit = _burst,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Takes tokens for <paramref name="spans"/>, waiting for them as needed; true when it had to wait.</summary>
    public async ValueTask<bool> TakeAsync(int spans, CancellationToken cancellationToken)
    {
        var waited = false;
        while (spans > 0)
        {
            // A bucket hands out at most its size at once; a larger batch takes it in parts.
            var part = Math.Min(spans, _burst);
            var lease = _limiter.AttemptAcquire(part);
            while (!lease.IsAcquired)
            {
                lease.Dispose();
                waited = true;
                lease = await _limiter.AcquireAsync(part, cancellationToken).ConfigureAwait(false);
            }
            lease.Dispose();
            spans -= part;
        }
        return waited;
    }

    public void Dispose() => _limiter.Dispose();
}
