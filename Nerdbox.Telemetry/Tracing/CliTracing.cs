using Nerdbox.Api.Otlp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Configuration;
using Nerdbox.Telemetry.Settings;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Trace;

namespace Nerdbox.Telemetry.Tracing;

/// <summary>
/// Tracing for the CLI verbs: the shim's spans through the SDK, the guest's through the relay, both
/// into every configured OTLP destination, an optional OTLP JSON file, and memory (so that the
/// run can show its own trace when it ends).
/// </summary>
public sealed class CliTracing : IAsyncDisposable
{
    private readonly TracerProvider _provider;

    private CliTracing(SpanSinkSet sinks, LogSinkSet logs, InMemorySpanSink memory, IConfiguration configuration)
    {
        Sinks = sinks;
        Logs = logs;
        Memory = memory;
        _provider = ShimTracerProvider.Create(Sinks, configuration: configuration);
    }

    public SpanSinkSet Sinks { get; }

    /// <summary>Where workloads' log records go: the same OTLP destinations' logs endpoints.</summary>
    public LogSinkSet Logs { get; }
    public InMemorySpanSink Memory { get; }

    /// <summary>Starts tracing with the settings in <paramref name="configuration"/> (default: the process environment).</summary>
    public static CliTracing Start(ILoggerFactory loggers, string? jsonFile = null, IConfiguration? configuration = null)
    {
        configuration ??= OtelEnvironment.Current();
        var memory = new InMemorySpanSink("this run");
        var extra = new List<ISpanSink> { memory };
        var logger = loggers.CreateLogger("Nerdbox.Telemetry.Sinks");
        if (jsonFile is not null) extra.Add(new OtlpJsonFileSink(jsonFile, "file " + jsonFile, logger));
        if (OtelEnvironment.ResourceAttributes(configuration).BadEntries is { Count: > 0 } bad)
            logger.LogWarning("{Variable}: ignored {Count} malformed entries: {Entries}",
                OtelEnvironment.ResourceAttributesVariable, bad.Count, string.Join(", ", bad));
        return new CliTracing(SpanSinks.Create(configuration, loggers, [.. extra]), LogSinks.Create(configuration, loggers), memory, configuration);
    }

    /// <summary>Sends what the run made everywhere, waiting at most <paramref name="timeout"/>.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        _provider.ForceFlush((int)timeout.TotalMilliseconds);
        await Task.WhenAll(Sinks.FlushAsync(timeout), Logs.FlushAsync(timeout));
    }

    /// <summary>
    /// One line per destination: what was sent and what was dropped; then, for the destinations' logs endpoints
    /// that were given any workload log records (or that get none), the same.
    /// </summary>
    public IEnumerable<string> Report() => Sinks.StatsBySink.Select(kv =>
        $"{kv.Name}: {kv.Stats.SpansSent} spans sent, {kv.Stats.SpansDropped} dropped" + (kv.Stats.LastError is { } e ? $" ({e})" : ""))
        .Concat(Logs.Sinks.Where(s => s.Stats.RecordsSent + s.Stats.RecordsDropped > 0).Select(s =>
            $"{s.Name} logs: {s.Stats.RecordsSent} log records sent, {s.Stats.RecordsDropped} dropped" + (s.Stats.LastError is { } e ? $" ({e})" : "")))
        .Concat(Logs.Skipped);

    public async ValueTask DisposeAsync()
    {
        _provider.Dispose();
        await Sinks.DisposeAsync();
        await Logs.DisposeAsync();
    }
}
