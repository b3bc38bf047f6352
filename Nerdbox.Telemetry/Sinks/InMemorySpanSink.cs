using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Keeps every batch: the run's own copy of its trace (for the summary and the viewer), and tests' eyes.</summary>
public sealed class InMemorySpanSink(string name = "memory") : ISpanSink
{
    private readonly List<ResourceSpans> _batches = [];
    private long _spans;

    public string Name { get; } = name;

    public SinkStats Stats => new(Interlocked.Read(ref _spans), 0, null);

    public void Submit(ResourceSpans batch)
    {
        if (batch is null) return;
        lock (_batches) _batches.Add(batch);
        Interlocked.Add(ref _spans, QueuedSpanSink.CountSpans(batch));
    }

    public Task FlushAsync(TimeSpan timeout) => Task.CompletedTask;

    /// <summary>The batches so far, in the order they were submitted.</summary>
    public IReadOnlyList<ResourceSpans> Snapshot()
    {
        lock (_batches) return _batches.ToArray();
    }

    public void Clear()
    {
        lock (_batches) _batches.Clear();
    }
}
