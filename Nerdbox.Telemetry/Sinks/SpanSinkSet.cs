using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Every configured sink behind one <see cref="ISpanSink"/>: each batch goes to all of them, and one
/// sink's trouble (full, down, throwing) never reaches the others or the caller.
/// Batches are shared between sinks, so a submitted batch must not be changed afterwards.
/// </summary>
public sealed class SpanSinkSet : ISpanSink, IAsyncDisposable, IDisposable
{
    private readonly ISpanSink[] _sinks;

    public SpanSinkSet(IEnumerable<ISpanSink> sinks, string name = "all")
    {
        _sinks = sinks.ToArray();
        Name = name;
    }

    public string Name { get; }

    public IReadOnlyList<ISpanSink> Sinks => _sinks;

    /// <summary>Totals over all sinks; <see cref="SinkStats.LastError"/> is the first sink's that has one.</summary>
    public SinkStats Stats
    {
        get
        {
            var each = StatsBySink;
            return new SinkStats(each.Sum(s => s.Stats.SpansSent), each.Sum(s => s.Stats.SpansDropped),
                SinkFanOut.FirstError(_sinks, s => s.Name, s => s.Stats.LastError))
            {
                Retries = each.Sum(s => s.Stats.Retries),
                RoomWaits = each.Sum(s => s.Stats.RoomWaits),
                RoomWaitsRanOut = each.Sum(s => s.Stats.RoomWaitsRanOut),
            };
        }
    }

    /// <summary>What each sink did, by name, in the order they were given.</summary>
    public IReadOnlyList<(string Name, SinkStats Stats)> StatsBySink => _sinks.Select(s => (s.Name, s.Stats)).ToArray();

    public void Submit(ResourceSpans batch) => SinkFanOut.Submit(_sinks, batch, static (s, b) => s.Submit(b));

    /// <summary>
    /// Waits for room in every sink at once (a sink that is down is not waited for): the longest of their bounded
    /// waits, never their sum. With a dashboard and Jaeger both up, neither loses spans to the other's pace.
    /// </summary>
    public ValueTask WaitForRoomAsync(int spans, CancellationToken cancellationToken) =>
        SinkFanOut.WaitForRoomAsync(_sinks, s => s.WaitForRoomAsync(spans, cancellationToken), cancellationToken);

    public Task FlushAsync(TimeSpan timeout) => SinkFanOut.FlushAsync(_sinks, s => s.FlushAsync(timeout));

    public ValueTask DisposeAsync() => SinkFanOut.DisposeAsync(_sinks);

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
