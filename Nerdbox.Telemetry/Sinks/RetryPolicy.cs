namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// How a failed export is tried again: only on an answer the OTLP spec calls retryable, after a pause
/// that grows exponentially (with jitter, so that many hosts do not retry in step) or that the destination
/// asked for, and never past the export timeout. A boot's spans lose their worth fast, so the pauses are short.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>Tries in all, the first included.</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    public double Multiplier { get; init; } = 2;

    public static readonly RetryPolicy Default = new();

    /// <summary>Each export is tried once.</summary>
    public static readonly RetryPolicy None = new() { MaxAttempts = 1 };

    /// <summary>The pause before retry <paramref name="retry"/> (1 for the first): between half and all of the capped exponential step.</summary>
    public TimeSpan Backoff(int retry)
    {
        var step = Math.Min(MaxBackoff.TotalMilliseconds, InitialBackoff.TotalMilliseconds * Math.Pow(Multiplier, retry - 1));
        return TimeSpan.FromMilliseconds(step * (0.5 + Random.Shared.NextDouble() / 2));
    }
}

/// <summary>Whether a failed export may be tried again, and after how long the destination asked to wait (null: our own back-off).</summary>
public readonly record struct RetryVerdict(bool Retry, TimeSpan? After)
{
    public static readonly RetryVerdict No = new(false, null);

    public static RetryVerdict Yes(TimeSpan? after = null) => new(true, after is { } a && a < TimeSpan.Zero ? TimeSpan.Zero : after);
}
