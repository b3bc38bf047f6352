using OpenTelemetry.Proto.Trace.V1;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>Spans held in memory as OTLP batches: the trace of the run just made, before any backend sees it.</summary>
public sealed class InMemoryOtlpSource(IEnumerable<ResourceSpans> batches, string? service = null) : ITraceSource
{
    public string Description => "the spans of this run";

    public Task<TraceModel> GetAsync(string? traceId, CancellationToken cancellationToken) =>
        Task.FromResult(TraceBuilder.Build(OtlpProto.Read(batches, Description), traceId, service, Description));
}
