using OpenTelemetry.Proto.Logs.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Where log records go: the OTLP destinations' logs endpoints. Only workloads' log records, relayed out of
/// the VM, arrive here (the host's own logs go through the SDK's exporter). The same promises as
/// <see cref="ISpanSink"/>: never blocks on the destination, never throws, counts what it drops.
/// </summary>
public interface ILogSink
{
    string Name { get; }

    /// <summary>Hands a batch over; the caller must not change it afterwards (it may be shared between sinks).</summary>
    void Submit(ResourceLogs batch);

    /// <summary>Waits, bounded, until a batch of <paramref name="records"/> would be taken without dropping (see <see cref="ISpanSink.WaitForRoomAsync"/>).</summary>
    ValueTask WaitForRoomAsync(int records, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    Task FlushAsync(TimeSpan timeout);

    LogSinkStats Stats { get; }
}

/// <summary>What a log sink did with the log records it was given.</summary>
public sealed record LogSinkStats(long RecordsSent, long RecordsDropped, string? LastError);
