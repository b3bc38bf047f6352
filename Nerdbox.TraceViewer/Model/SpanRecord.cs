namespace Nerdbox.TraceViewer.Model;

/// <summary>
/// One span as a source read it, before the tree is built. Ids are already normalised
/// (<see cref="TraceIds"/>), so spans from any format can be matched to their parents. <c>Resource</c>
/// holds what describes the process that made the span (OTLP resource attributes, Jaeger process tags).
/// </summary>
internal sealed record SpanRecord(
    string TraceId,
    string SpanId,
    string? ParentId,
    string Name,
    string Service,
    long StartUnixNano,
    long EndUnixNano,
    bool HasTimes,
    bool IsError,
    string? StatusMessage,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyDictionary<string, string>? Resource = null)
{
    /// <summary>Same span reported twice: equal in everything that is shown.</summary>
    public bool SameAs(SpanRecord o) =>
        Name == o.Name && Service == o.Service && ParentId == o.ParentId &&
        StartUnixNano == o.StartUnixNano && EndUnixNano == o.EndUnixNano && IsError == o.IsError;
}
