using Nerdbox.Telemetry.Settings;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Bounds and pacing of a queued sink. The defaults hold a boot's few hundred spans many times over and keep up with a guest that streams spans in bulk.</summary>
public sealed record SinkOptions
{
    /// <summary>Spans waiting to be sent, at most; a batch that would exceed this is dropped whole.</summary>
    public int MaxQueuedSpans { get; init; } = 65536;

    /// <summary>Batches waiting to be sent, at most (bounds many tiny batches, too).</summary>
    public int MaxQueuedBatches { get; init; } = 1024;

    /// <summary>Spans merged into one export request, at most (a single bigger batch still goes alone).</summary>
    public int MaxSpansPerExport { get; init; } = 8192;

    /// <summary>How long one export may take before it counts as failed. Null: the destination's own timeout.</summary>
    public TimeSpan? ExportTimeout { get; init; }

    /// <summary>
    /// How long a caller that can hold back its producer (the guest span relay) waits for room in the queue
    /// before its batch is dropped and counted. Null: the export timeout, the time in which an export either
    /// frees room or fails (and a destination that fails is not waited for).
    /// </summary>
    public TimeSpan? MaxRoomWait { get; init; }

    /// <summary>How failed exports are retried (within <see cref="ExportTimeout"/>).</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    public static readonly SinkOptions Default = new();

    /// <summary>
    /// The defaults, with the two <c>OTEL_BSP_*</c> sizes that mean the same here: the queue's span bound
    /// and the spans per export request. The delay and timeout belong to the SDK's batch processor only.
    /// </summary>
    public static SinkOptions From(BatchSettings batch) => Default with
    {
        MaxQueuedSpans = batch.MaxQueueSize ?? Default.MaxQueuedSpans,
        MaxSpansPerExport = batch.MaxExportBatchSize ?? Default.MaxSpansPerExport,
    };
}
