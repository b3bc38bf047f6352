using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Logs.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>A log sink with remote I/O: the same queue, sender, retries and counts as the span sinks (<see cref="QueuedExporter{TBatch, TRequest}"/>), for log records.</summary>
public abstract class QueuedLogSink : QueuedExporter<ResourceLogs, ExportLogsServiceRequest>, ILogSink
{
    private protected QueuedLogSink(string name, string description, TimeSpan exportTimeout, SinkOptions? options, ILogger logger, IExportTransport? transport = null)
        : base(name, description, exportTimeout, options, logger, transport) { }

    public LogSinkStats Stats
    {
        get
        {
            var counts = Counts;
            return new LogSinkStats(counts.SpansSent, counts.SpansDropped, counts.LastError);
        }
    }

    private protected override string ItemsName => "log records";

    private protected override int Count(ResourceLogs batch)
    {
        var n = 0;
        foreach (var scope in batch.ScopeLogs) n += scope.LogRecords.Count;
        return n;
    }

    private protected override ExportLogsServiceRequest Request(List<ResourceLogs> batches) => new() { ResourceLogs = { batches } };

    private protected override void Metered(long sent, long dropped)
    {
        SinkMetrics.AddLogsSent(Name, sent);
        SinkMetrics.AddLogsDropped(Name, dropped);
    }
}
