using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Where finished spans go: an OTLP endpoint (gRPC or HTTP/protobuf), an OTLP JSON file, or the
/// in-memory trace of a run. Host spans (from the shim's SDK pipeline) and guest spans (relayed
/// out of the VM, clock-corrected) both arrive here as OTLP data, each batch already wrapped in
/// its resource (<c>service.name</c> nerdbox or nerdbox-vm).
/// </summary>
public interface ISpanSink
{
    /// <summary>A short name for logs and counters ("otlp-grpc http://localhost:4317", "jaeger", ...).</summary>
    string Name { get; }

    /// <summary>
    /// Hands a batch over. Never blocks on the destination and never throws: a sink that is full or
    /// down drops the batch and counts the spans it dropped. The batch may be kept and sent later
    /// (and shared between sinks), so the caller must not change it afterwards.
    /// </summary>
    void Submit(ResourceSpans batch);

    /// <summary>
    /// For a caller that can hold back its own producer rather than lose spans (the guest span relay stops
    /// reading the guest's stream): waits until a batch of <paramref name="spans"/> would be taken without
    /// dropping. Bounded, and never waits for a destination that is down. A sink without a bounded queue
    /// always has room.
    /// </summary>
    ValueTask WaitForRoomAsync(int spans, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Waits, at most <paramref name="timeout"/>, until what was submitted has been sent (or dropped).</summary>
    Task FlushAsync(TimeSpan timeout);

    /// <summary>Spans sent and dropped so far.</summary>
    SinkStats Stats { get; }
}

/// <summary>What a sink did with the spans it was given.</summary>
public sealed record SinkStats(long SpansSent, long SpansDropped, string? LastError)
{
    /// <summary>Export requests tried again after a retryable failure.</summary>
    public long Retries { get; init; }

    /// <summary>Times a caller waited for room in the queue (the sink was full and its destination up).</summary>
    public long RoomWaits { get; init; }

    /// <summary>Of those, waits that ran out (the destination was stalled), after which the batch was dropped if it did not fit.</summary>
    public long RoomWaitsRanOut { get; init; }
}
