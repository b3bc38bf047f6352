using Nerdbox.Telemetry;
using System.Diagnostics.Metrics;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// The sinks' counters on the shim's meter, so dropped spans show up wherever metrics go,
/// not only in <see cref="ISpanSink.Stats"/>. Tagged by destination name.
/// </summary>
internal static class SinkMetrics
{
    public const string MeterName = ShimTracing.SourceName;
    public const string SpansSentName = "nerdbox.otlp.spans_sent";
    public const string SpansDroppedName = "nerdbox.otlp.spans_dropped";
    public const string ExportRetriesName = "nerdbox.otlp.export_retries";

    private static readonly Counter<long> Sent = ShimTracing.Meter.CreateCounter<long>(SpansSentName, "{span}", "Spans a sink delivered to its destination");
    private static readonly Counter<long> Dropped = ShimTracing.Meter.CreateCounter<long>(SpansDroppedName, "{span}", "Spans a sink gave up on: queue full, destination down, or rejected");

    public const string LogsSentName = "nerdbox.otlp.logs_sent";
    public const string LogsDroppedName = "nerdbox.otlp.logs_dropped";
    private static readonly Counter<long> LogsSent = ShimTracing.Meter.CreateCounter<long>(LogsSentName, "{log_record}", "Workload log records a sink delivered to its destination");
    private static readonly Counter<long> LogsDropped = ShimTracing.Meter.CreateCounter<long>(LogsDroppedName, "{log_record}", "Workload log records a sink gave up on: queue full, destination down, or rejected");

    public static void AddLogsSent(string destination, long records)
    {
        if (records > 0) LogsSent.Add(records, new KeyValuePair<string, object?>("destination", destination));
    }

    public static void AddLogsDropped(string destination, long records)
    {
        if (records > 0) LogsDropped.Add(records, new KeyValuePair<string, object?>("destination", destination));
    }

    private static readonly Counter<long> Retries = ShimTracing.Meter.CreateCounter<long>(ExportRetriesName, "{request}", "Export requests a sink tried again after a retryable failure");

    public static void AddRetry(string destination) => Retries.Add(1, new KeyValuePair<string, object?>("destination", destination));

    public static void AddSent(string destination, long spans)
    {
        if (spans > 0) Sent.Add(spans, new KeyValuePair<string, object?>("destination", destination));
    }

    public static void AddDropped(string destination, long spans)
    {
        if (spans > 0) Dropped.Add(spans, new KeyValuePair<string, object?>("destination", destination));
    }
}
