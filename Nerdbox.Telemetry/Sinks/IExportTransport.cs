namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// What a queued exporter asks of the transport under it, whatever it sends: how a failure reads, whether it
/// may be retried, and release once the sender has stopped. One per destination and signal.
/// </summary>
public interface IExportTransport : IDisposable
{
    /// <summary>A short reason for the failure, or null to use the exception's first line.</summary>
    string? Describe(Exception e);

    /// <summary>Whether the failed export may be tried again (only answers the OTLP spec calls retryable).</summary>
    RetryVerdict Retryable(Exception e);
}
