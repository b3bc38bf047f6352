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
        SinkFanOut.FirstError(_sinks, s => s.Name, s => s.Stats.LastError));

    public void Submit(ResourceLogs batch) => SinkFanOut.Submit(_sinks, batch, static (s, b) => s.Submit(b));

    /// <summary>Waits for room in every sink at once (the longest of their bounded waits, never their sum).</summary>
    public ValueTask WaitForRoomAsync(int records, CancellationToken cancellationToken) =>
        SinkFanOut.WaitForRoomAsync(_sinks, s => s.WaitForRoomAsync(records, cancellationToken), cancellationToken);

    public Task FlushAsync(TimeSpan timeout) => SinkFanOut.FlushAsync(_sinks, s => s.FlushAsync(timeout));

    public ValueTask DisposeAsync() => SinkFanOut.DisposeAsync(_sinks);
}
