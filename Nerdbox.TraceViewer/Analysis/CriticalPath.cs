using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Analysis;

/// <summary>
/// One span on the critical path and how much of the path is its own work (not a child's): <paramref name="SelfMs"/>
/// in all, made of <paramref name="SelfStretches"/> (start and end, unix ns).
/// </summary>
public sealed record CriticalPathStep(SpanNode Span, double SelfMs, IReadOnlyList<(long Start, long End)> SelfStretches)
{
    /// <summary>How much of the span's self time falls inside [<paramref name="start"/>, <paramref name="end"/>), in ms.</summary>
    public double SelfMsWithin(long start, long end) =>
        SelfStretches.Sum(s => Math.Max(0, Math.Min(s.End, end) - Math.Max(s.Start, start))) / 1e6;
}

/// <summary>
/// The spans that decide when the trace ends, by Jaeger's definition (jaeger-ui's CriticalPath, from its
/// PR #1582). Walking back from a span's end, take the child that ends last at or before the current point,
/// walk it the same way, and continue from that child's start; a child that ends after the current point
/// is not taken, however much of it lies before it. The time no taken child covers is the span's self time.
/// <para>
/// Before the walk each child is cut to its parent's window, as jaeger-ui's sanitizeOverFlowingChildren
/// does: a child that ends after its parent's end is truncated to that end (one starting before the parent
/// is moved to its start), and a child wholly outside the window (starting at or after its end, or starting
/// before it and ending by its start) is dropped with everything under it. Grandchildren are cut to the
/// already cut child. Ties on the end go to the earlier start, as in jaeger-ui (children in start order).
/// </para>
/// <para>
/// Two differences from jaeger-ui, both deliberate: a child ending exactly at the current point is taken
/// (jaeger-ui wants it to end strictly before), because steps recorded back to back (the VM start spans
/// share their boundaries) would otherwise fall off the path; and several roots are walked as children of
/// one span covering the whole trace (jaeger-ui walks each root on its own), so self times never add up to
/// more than the trace. Shortening a span off the path does not end the trace sooner; shortening self time
/// on it does.
/// </para>
/// </summary>
public static class CriticalPath
{
    /// <summary>The path in display order (depth first, by start), each span once with its total self time.</summary>
    public static IReadOnlyList<CriticalPathStep> Of(TraceModel trace)
    {
        var self = new Dictionary<SpanNode, List<(long Start, long End)>>();
        // Roots lie inside the trace by definition, so they are not cut; the gaps between them are nobody's.
        var roots = trace.Roots.Select(r => new Window(r, r.StartUnixNano, r.EndUnixNano));
        WalkBack(roots, trace.StartUnixNano, trace.EndUnixNano, self);
        return trace.Spans.Where(self.ContainsKey).Select(s => new CriticalPathStep(s, self[s].Sum(x => x.End - x.Start) / 1e6, self[s])).ToList();
    }

    /// <summary>A span as the walk sees it: cut to its parent's window.</summary>
    private readonly record struct Window(SpanNode Span, long Start, long End);

    private static void Walk(Window span, Dictionary<SpanNode, List<(long Start, long End)>> self)
    {
        var children = span.Span.Children.Select(c => Cut(c, span.Start, span.End)).OfType<Window>();
        self[span.Span] = WalkBack(children, span.Start, span.End, self);
    }

    // Walks [from, to) back from its end through the children; returns the stretches no taken child covered.
    private static List<(long Start, long End)> WalkBack(IEnumerable<Window> children, long from, long to, Dictionary<SpanNode, List<(long Start, long End)>> self)
    {
        var left = children.OrderBy(c => c.Span, SpanOrder.Instance).ToList();
        var uncovered = new List<(long Start, long End)>();
        var cursor = to;
        while (LastEndingBy(left, cursor) is { } next)
        {
            left.Remove(next);
            if (cursor > next.End) uncovered.Add((next.End, cursor));
            Walk(next, self);
            cursor = next.Start;
        }
        if (cursor > from) uncovered.Add((from, cursor));
        return uncovered;
    }

    // The child that ends last at or before the cursor; the first in start order on a tie.
    private static Window? LastEndingBy(List<Window> children, long cursor)
    {
        Window? best = null;
        foreach (var c in children)
            if (c.End <= cursor && (best is null || c.End > best.Value.End)) best = c;
        return best;
    }

    // jaeger-ui's sanitizeOverFlowingChildren, case by case; null when the child is dropped.
    private static Window? Cut(SpanNode child, long parentStart, long parentEnd)
    {
        var (start, end) = (child.StartUnixNano, child.EndUnixNano);
        if (start >= parentStart)
            return start >= parentEnd ? null : new Window(child, start, Math.Min(end, parentEnd));
        return end <= parentStart ? null : new Window(child, parentStart, Math.Min(end, parentEnd));
    }
}
