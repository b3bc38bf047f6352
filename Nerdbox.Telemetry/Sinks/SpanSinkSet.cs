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
                each.Select(s => s.Stats.LastError is { } e ? $"{s.Name}: {e}" : null).FirstOrDefault(e => e is not null))
            {
                Retries = each.Sum(s => s.Stats.Retries),
                RoomWaits = each.Sum(s => s.Stats.RoomWaits),
                RoomWaitsRanOut = each.Sum(s => s.Stats.RoomWaitsRanOut),
            };
        }
    }

    /// <summary>What each sink did, by name, in the order they were given.</summary>
    public IReadOnlyList<(string Name, SinkStats Stats)> StatsBySink => _sinks.Select(s => (s.Name, s.Stats)).ToArray();

    public void Submit(ResourceSpans batch)
    {
        foreach (var sink in _sinks)
        {
            try
            {
                sink.Submit(batch);
            }
            catch (Exception)
            {
                // The contract says sinks never throw; one that does still must not stop the rest.
            }
        }
    }

    /// <summary>
    /// Waits for room in every sink at once, each as it bounds its own wait (a sink that is down is not
    /// waited for), so the wait is the longest of them, never their sum; one sink's failure to wait
    /// does not stop the others. With a dashboard and Jaeger both up, neither loses spans to the other's pace.
    /// </summary>
    public async ValueTask WaitForRoomAsync(int spans, CancellationToken cancellationToken)
    {
        List<Task>? pending = null;
        foreach (var sink in _sinks)
        {
            var wait = WaitForRoom(sink, spans, cancellationToken);
            if (!wait.IsCompletedSuccessfully) (pending ??= []).Add(wait.AsTask());
        }
        if (pending is not null) await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private static async ValueTask WaitForRoom(ISpanSink sink, int spans, CancellationToken cancellationToken)
    {
        try
        {
            await sink.WaitForRoomAsync(spans, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Waiting is an optimisation: a sink that fails at it just gets the batch now.
        }
    }

    public Task FlushAsync(TimeSpan timeout) => Task.WhenAll(_sinks.Select(async s =>
    {
        try
        {
            await s.FlushAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Flushing is best effort, per sink.
        }
    }));

    public async ValueTask DisposeAsync()
    {
        foreach (var sink in _sinks)
        {
            if (sink is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            else if (sink is IDisposable disposable) disposable.Dispose();
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
