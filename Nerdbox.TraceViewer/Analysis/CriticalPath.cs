using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Analysis;

/// <summary>One span on the critical path and how much of the path is its own work (not a child's).</summary>
public sealed record CriticalPathStep(SpanNode Span, double SelfMs);

/// <summary>
/// The spans that decide when the trace ends. Walking back from the end: at each span take the child
/// that ends last; once that child's start is reached, take the child that ended last before it, and so
/// on down to the span's own start. Time not covered by a child is the span's self time. The chain of
/// last-ending children from the root is always on it; so are the sequential steps before them (a
/// VM boot before the task start), which is what makes the self times add up to the trace.
/// Shortening a span off the path does not end the trace sooner; shortening self time on it does.
/// </summary>
public static class CriticalPath
{
    /// <summary>The path in display order (depth first, by start), each span once with its total self time.</summary>
    public static IReadOnlyList<CriticalPathStep> Of(TraceModel trace)
    {
        var self = new Dictionary<SpanNode, long>();
        // The roots are walked as if children of one span covering the whole trace; its gaps are nobody's.
        WalkChildren(trace.Roots, trace.StartUnixNano, trace.EndUnixNano, self);
        return trace.Spans.Where(self.ContainsKey).Select(s => new CriticalPathStep(s, self[s] / 1e6)).ToList();
    }

    private static void Walk(SpanNode span, long from, long to, Dictionary<SpanNode, long> self)
    {
        self[span] = self.GetValueOrDefault(span) + WalkChildren(span.Children, from, to, self);
    }

    // Walks [from, to) backwards through the children; returns the time no child covered.
    private static long WalkChildren(IReadOnlyList<SpanNode> children, long from, long to, Dictionary<SpanNode, long> self)
    {
        long uncovered = 0;
        var cursor = to;
        while (cursor > from)
        {
            // The child that ends last before the cursor (clipped to it: a skewed child can end after its parent).
            // Ties go to the later start (it is the one waited for), then display order.
            var next = children
                .Where(c => c.StartUnixNano < cursor && c.EndUnixNano > from && !self.ContainsKey(c))
                .OrderByDescending(c => Math.Min(c.EndUnixNano, cursor))
                .ThenByDescending(c => c.StartUnixNano)
                .ThenBy(c => c, SpanOrder.Instance)
                .FirstOrDefault();
            if (next is null)
            {
                uncovered += cursor - from;
                break;
            }
            var end = Math.Min(next.EndUnixNano, cursor);
            uncovered += cursor - end;
            var start = Math.Max(next.StartUnixNano, from);
            Walk(next, start, end, self);
            cursor = start;
        }
        if (cursor == to && to == from)
        {
            // A zero-length window still has a span that decides it: the last-ending zero-length child, if any.
            var instant = children.Where(c => c.StartUnixNano <= to && c.EndUnixNano >= from && !self.ContainsKey(c))
                .OrderByDescending(c => c.EndUnixNano).ThenBy(c => c, SpanOrder.Instance).FirstOrDefault();
            if (instant is not null) Walk(instant, from, to, self);
        }
        return uncovered;
    }
}
