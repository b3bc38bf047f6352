using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Analysis;

/// <summary>
/// One place in the compared traces (<see cref="SpanPath"/>) and the span at it on each side; one side is
/// null when the span is found on the other only.
/// </summary>
/// <param name="OnCriticalPath">On the critical path of A, of B, or of both.</param>
/// <param name="Order">Position in display order (A's spans, then those only in B); breaks ties, for stable output.</param>
public sealed record SpanComparison(SpanPath Path, SpanNode? A, SpanNode? B, bool OnCriticalPath, int Order)
{
    /// <summary>B's duration minus A's; a span on one side counts as taking no time on the other.</summary>
    public double DeltaMs => (B?.DurationMs ?? 0) - (A?.DurationMs ?? 0);

    /// <summary><see cref="DeltaMs"/> as a percentage of A's duration; null unless both sides have the span and A's took time.</summary>
    public double? DeltaPercent => A is { DurationMs: > 0 } a && B is not null ? DeltaMs / a.DurationMs * 100 : null;
}

/// <summary>
/// Two traces of the same kind of work (two boots) compared span by span. Spans are matched by their
/// <see cref="SpanPath"/>: the names from the root, with a repeat number among same-named siblings.
/// </summary>
public sealed class TraceDiff
{
    private TraceDiff(TraceModel a, TraceModel b, IReadOnlyList<SpanComparison> matched, IReadOnlyList<SpanComparison> onlyInA,
        IReadOnlyList<SpanComparison> onlyInB, IReadOnlyList<string> warnings)
    {
        (A, B, Matched, OnlyInA, OnlyInB, Warnings) = (a, b, matched, onlyInA, onlyInB, warnings);
    }

    public TraceModel A { get; }
    public TraceModel B { get; }

    /// <summary>Spans on both sides, ranked by <see cref="Rank"/>: critical path first, then by size of change.</summary>
    public IReadOnlyList<SpanComparison> Matched { get; }

    /// <summary>Spans only A has, in A's display order.</summary>
    public IReadOnlyList<SpanComparison> OnlyInA { get; }

    /// <summary>Spans only B has, in B's display order.</summary>
    public IReadOnlyList<SpanComparison> OnlyInB { get; }

    /// <summary>Why the numbers may mislead: different environments (<see cref="TraceEnvironment"/>), or one trace twice.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>B's length minus A's.</summary>
    public double DeltaMs => B.DurationMs - A.DurationMs;

    public static TraceDiff Of(TraceModel a, TraceModel b)
    {
        var (pathsA, pathsB) = (SpanPath.Of(a), SpanPath.Of(b));
        var (criticalA, criticalB) = (CriticalSet(a), CriticalSet(b));
        var inB = b.Spans.ToDictionary(s => pathsB[s].Key);
        var inA = a.Spans.Select(s => pathsA[s].Key).ToHashSet();

        var both = new List<SpanComparison>();
        var onlyInA = new List<SpanComparison>();
        var order = 0;
        foreach (var span in a.Spans)
        {
            var path = pathsA[span];
            var other = inB.GetValueOrDefault(path.Key);
            var item = new SpanComparison(path, span, other, criticalA.Contains(span) || (other is not null && criticalB.Contains(other)), order++);
            (other is null ? onlyInA : both).Add(item);
        }
        var onlyInB = b.Spans.Where(s => !inA.Contains(pathsB[s].Key))
            .Select(s => new SpanComparison(pathsB[s], null, s, criticalB.Contains(s), order++)).ToList();

        var warnings = new List<string>();
        if (a.TraceId == b.TraceId) warnings.Add($"A and B are the same trace ({a.TraceId})");
        warnings.AddRange(TraceEnvironment.Differences(a, b));
        return new TraceDiff(a, b, Rank(both), onlyInA, onlyInB, warnings);
    }

    /// <summary>Critical-path spans (of either side) first, then the rest; each group by absolute change, largest first.</summary>
    public static IReadOnlyList<SpanComparison> Rank(IEnumerable<SpanComparison> spans) =>
        spans.OrderByDescending(s => s.OnCriticalPath).ThenByDescending(s => Math.Abs(s.DeltaMs)).ThenBy(s => s.Order).ToList();

    private static HashSet<SpanNode> CriticalSet(TraceModel trace) => CriticalPath.Of(trace).Select(s => s.Span).ToHashSet();
}
