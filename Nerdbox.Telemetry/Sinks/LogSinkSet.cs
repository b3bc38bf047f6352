using OpenTelemetry.Proto.Logs.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Every log destination behind one <see cref="ILogSink"/>, as <see cref="SpanSinkSet"/> is for spans: each
/// batch goes to all of them, and one sink's trouble never reaches the others or the caller. It also names the
/// destinations that get no logs (<see cref="Skipped"/>), so that a report can say so.
/// </summary>
public sealed class LogSinkSet(IEnumerable<ILogSink> sinks, IEnumerable<string>? skipped = null) : ILogSink, IAsyncDisposable
{
    private readonly ILogSink[] _sinks = sinks.ToArray();

    public string Name => "all";

    public IReadOnlyList<ILogSink> Sinks => _sinks;

    /// <summary>Destinations that take spans but no logs, each with the reason.</summary>
    public IReadOnlyList<string> Skipped { get; } = skipped?.ToArray() ?? [];

    public LogSinkStats Stats => new(_sinks.Sum(s => s.Stats.RecordsSent), _sinks.Sum(s => s.Stats.RecordsDropped),
        _sinks.Select(s => s.Stats.LastError is { } e ? $"{s.Name}: {e}" : null).FirstOrDefault(e => e is not null));

    public void Submit(ResourceLogs batch)
    {
        foreach (var sink in _sinks)
        {
            try
            {
                sink.Submit(batch);
            }
            catch (Exception)
            {
                // Sinks never throw; one that does still must not stop the rest.
            }
        }
    }

    /// <summary>Waits for room in every sink at once (the longest of their bounded waits, never their sum).</summary>
    public async ValueTask WaitForRoomAsync(int records, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_sinks.Select(s => s.WaitForRoomAsync(records, cancellationToken).AsTask())).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Waiting is an optimisation: a sink that fails at it just gets the batch now.
        }
    }

    public Task FlushAsync(TimeSpan timeout) => Task.WhenAll(_sinks.Select(s => s.FlushAsync(timeout)));

    public async ValueTask DisposeAsync()
    {
        foreach (var sink in _sinks)
            if (sink is IAsyncDisposable disposable) await disposable.DisposeAsync().ConfigureAwait(false);
    }
}
