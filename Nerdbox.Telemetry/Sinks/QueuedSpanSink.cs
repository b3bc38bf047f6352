using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>A span sink with slow or remote I/O: the queue, sender, retries and counts of <see cref="QueuedExporter{TBatch, TRequest}"/>, for spans.</summary>
public abstract class QueuedSpanSink : QueuedExporter<ResourceSpans, ExportTraceServiceRequest>, ISpanSink
{
    protected QueuedSpanSink(string name, string description, TimeSpan exportTimeout, SinkOptions? options, ILogger logger, IExportTransport? transport = null)
        : base(name, description, exportTimeout, options, logger, transport) { }

    public SinkStats Stats => Counts;

    private protected override string ItemsName => "spans";

    private protected override int Count(ResourceSpans batch) => CountSpans(batch);

    private protected override ExportTraceServiceRequest Request(List<ResourceSpans> batches) => new() { ResourceSpans = { batches } };

    private protected override void Metered(long sent, long dropped)
    {
        SinkMetrics.AddSent(Name, sent);
        SinkMetrics.AddDropped(Name, dropped);
    }

    internal static int CountSpans(ResourceSpans batch)
    {
        var n = 0;
        foreach (var scope in batch.ScopeSpans) n += scope.Spans.Count;
        return n;
    }
}
