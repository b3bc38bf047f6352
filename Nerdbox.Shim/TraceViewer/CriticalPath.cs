namespace Nerdbox.Shim.TraceViewer;

/// <summary>One span on the critical path and the time on the path that is its own (not its next span's).</summary>
public sealed record CriticalPathStep(SpanNode Span, double SelfMs);

/// <summary>
/// The chain of spans that decides when the trace ends: start at the root that ends last and, at each
/// span, go on to the child that ends last. Shortening anything off this chain does not end the trace
/// sooner; shortening a span's self time on it does (until another chain takes over).
/// </summary>
public static class CriticalPath
{
    public static IReadOnlyList<CriticalPathStep> Of(TraceModel trace)
    {
        var path = new List<SpanNode>();
        var node = LastToEnd(trace.Roots);
        while (node is not null)
        {
            path.Add(node);
            node = LastToEnd(node.Children);
        }

        var steps = new List<CriticalPathStep>(path.Count);
        for (var i = 0; i < path.Count; i++)
        {
            var span = path[i];
            var own = span.EndUnixNano - span.StartUnixNano;
            if (i + 1 < path.Count)
            {
                // Only the part of the child inside the parent counts: a skewed child can poke out of it.
                var next = path[i + 1];
                var overlap = Math.Min(span.EndUnixNano, next.EndUnixNano) - Math.Max(span.StartUnixNano, next.StartUnixNano);
                own -= Math.Max(0, overlap);
            }
            steps.Add(new CriticalPathStep(span, Math.Max(0, own) / 1e6));
        }
        return steps;
    }

    // Ties go to the span that started later (it is the one being waited for), then to display order.
    private static SpanNode? LastToEnd(IReadOnlyList<SpanNode> spans) =>
        spans.OrderByDescending(s => s.EndUnixNano).ThenByDescending(s => s.StartUnixNano).ThenBy(s => s, SpanOrder.Instance).FirstOrDefault();
}
