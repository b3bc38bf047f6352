namespace Nerdbox.TraceViewer.Model;

/// <summary>
/// Turns the flat spans a source read into a <see cref="TraceModel"/>: picks the trace, drops
/// duplicates, links parents, and settles what the input leaves open (orphans, missing times).
/// </summary>
internal static class TraceBuilder
{
    /// <summary>
    /// How deep spans may nest; a span that would nest deeper is shown as a root. Every walk of the tree
    /// (ordering, rendering, the critical path) recurses by depth, and a trace is input like any other.
    /// </summary>
    public const int MaxDepth = 256;

    /// <summary>
    /// Picks one trace from <paramref name="spans"/> (which may hold several) and builds it.
    /// With <paramref name="traceId"/> null the newest trace is taken, among those touching
    /// <paramref name="service"/> when one is given. <paramref name="origin"/> names the input in messages.
    /// </summary>
    public static TraceModel Build(IReadOnlyCollection<SpanRecord> spans, string? traceId, string? service, string origin)
    {
        if (spans.Count == 0)
            throw new TraceViewerException($"{origin}: no spans in the response" + (traceId is null ? "" : $" for trace {traceId}"));

        var traces = spans.GroupBy(s => s.TraceId).ToList();
        IGrouping<string, SpanRecord> chosen;
        if (traceId is not null)
        {
            chosen = traces.FirstOrDefault(t => TraceIds.SameTrace(t.Key, traceId))
                ?? throw new TraceViewerException($"{origin}: trace {traceId} is not in the response; it has {Describe(traces.Select(t => t.Key))}");
        }
        else
        {
            var candidates = service is null ? traces : traces.Where(t => t.Any(s => s.Service == service)).ToList();
            if (candidates.Count == 0)
                throw new TraceViewerException($"{origin}: no trace has spans from service '{service}'; services seen: {string.Join(", ", spans.Select(s => s.Service).Distinct().Order(StringComparer.Ordinal))}");
            // Newest by start; a trace without any timestamps sorts as oldest. Ties by id, to stay deterministic.
            chosen = candidates
                .OrderByDescending(t => t.Where(s => s.HasTimes).Select(s => s.StartUnixNano).DefaultIfEmpty(0).Min())
                .ThenBy(t => t.Key, StringComparer.Ordinal)
                .First();
        }
        return BuildOne(chosen.Key, chosen.ToList());
    }

    private static string Describe(IEnumerable<string> ids)
    {
        var list = ids.ToList();
        return list.Count <= 5 ? string.Join(", ", list) : $"{string.Join(", ", list.Take(5))} and {list.Count - 5} more";
    }

    private static TraceModel BuildOne(string traceId, List<SpanRecord> records)
    {
        var warnings = new List<string>();
        var byId = new Dictionary<string, SpanNode>(StringComparer.Ordinal);
        var first = new Dictionary<string, SpanRecord>(StringComparer.Ordinal);
        var nodes = new List<SpanNode>();
        var repeats = new Dictionary<string, int>(StringComparer.Ordinal);

        foreach (var r in records)
        {
            if (first.TryGetValue(r.SpanId, out var earlier))
            {
                var n = repeats[r.SpanId] = repeats.GetValueOrDefault(r.SpanId, 1) + 1;
                if (r.SameAs(earlier))
                {
                    // Backends (Jaeger among them) can return a span twice; the copies say the same, keep one.
                    warnings.Add($"span {r.SpanId} ({r.Name}) appears {n} times; the copies are the same and were merged");
                    continue;
                }
                // A different span reusing the id: keep it visible under its own id rather than lose it.
                var renamed = r with { SpanId = $"{r.SpanId}~{n}" };
                warnings.Add($"span id {r.SpanId} is used by different spans ('{earlier.Name}' and '{r.Name}'); the second is shown as {renamed.SpanId}");
                var dup = new SpanNode(renamed);
                byId[renamed.SpanId] = dup;
                nodes.Add(dup);
                continue;
            }
            first[r.SpanId] = r;
            var node = new SpanNode(r);
            byId[r.SpanId] = node;
            nodes.Add(node);
        }

        var roots = new List<SpanNode>();
        var tooDeep = new List<SpanNode>();
        foreach (var node in nodes)
        {
            if (node.ParentId is not { } pid || !byId.TryGetValue(pid, out var parent))
                roots.Add(node);
            else if (CycleThrough(node, parent, out var deep) is { } cycle)
            {
                // Adopting would close a loop that no walk of the tree could leave; the span closing it becomes a root.
                node.ClosesParentCycle = true;
                roots.Add(node);
                warnings.Add($"spans {string.Join(" → ", cycle.Select(Named))} form a parent cycle (each a child of the next); {Named(node)} is shown as a root");
            }
            else if (deep)
            {
                node.NestedTooDeep = true;
                roots.Add(node);
                tooDeep.Add(node);
            }
            else
                parent.Adopt(node);
        }
        CutTooDeep(roots, tooDeep);
        if (tooDeep.Count > 0)
            warnings.Add($"{tooDeep.Count} span(s) would nest deeper than {MaxDepth} levels and are shown as roots: {Describe(tooDeep.Select(Named))}");
        warnings.AddRange(HashedIds(traceId, nodes));
        foreach (var root in roots.Where(r => r.IsOrphan))
            warnings.Add($"span {root.SpanId} ({root.Name}) has parent {root.ParentId}, which is not in the trace; shown as a root");

        PlaceUntimed(nodes, roots, warnings);

        roots.Sort(SpanOrder.Instance);
        foreach (var root in roots) root.Arrange(0);
        var ordered = new List<SpanNode>(nodes.Count);
        foreach (var root in roots) Flatten(root, ordered);

        foreach (var n in ordered.Where(n => n.Parent is { } p && n.StartUnixNano < p.StartUnixNano))
            warnings.Add($"span {n.SpanId} ({n.Name}) starts {(n.Parent!.StartUnixNano - n.StartUnixNano) / 1e6:0.###} ms before its parent (clock skew between services?)");

        return new TraceModel(traceId, roots, ordered, warnings);
    }

    // A source that met ids it could not read as hex put hashes in their place (TraceIds.Hashed); say which.
    private static IEnumerable<string> HashedIds(string traceId, List<SpanNode> nodes)
    {
        if (nodes.Select(n => n.Attributes.GetValueOrDefault(TraceIds.OriginalTraceIdKey)).FirstOrDefault(t => t is not null) is { } trace)
            yield return $"trace id '{trace}' is not hex; shown as {traceId}";
        var spans = nodes.Where(n => n.Attributes.ContainsKey(TraceIds.OriginalSpanIdKey))
            .Select(n => $"'{n.Attributes[TraceIds.OriginalSpanIdKey]}' as {n.SpanId}").ToList();
        if (spans.Count > 0)
            yield return $"{spans.Count} span id(s) are not hex and are shown as hashes: {Describe(spans)} (the original is attribute {TraceIds.OriginalSpanIdKey})";
    }

    /// <summary>
    /// The loop <paramref name="child"/> → <paramref name="parent"/> → ... → <paramref name="child"/> that
    /// adopting would close (child to parent, the first span repeated at the end), or null when there is none.
    /// A span that is its own parent is the loop a → a.
    /// </summary>
    /// <remarks>
    /// The walk stops past <see cref="MaxDepth"/> ancestors (<paramref name="tooDeep"/>), so that linking stays linear:
    /// such a child could not keep its parent anyway, and a longer loop is broken by not adopting it.
    /// </remarks>
    private static List<SpanNode>? CycleThrough(SpanNode child, SpanNode parent, out bool tooDeep)
    {
        var loop = new List<SpanNode> { child };
        tooDeep = false;
        for (var p = parent; p is not null; p = p.Parent)
        {
            loop.Add(p);
            if (ReferenceEquals(p, child)) return loop;
            if (loop.Count > MaxDepth) { tooDeep = true; return null; }
        }
        return null;
    }

    // Linking in input order can still build chains deeper than MaxDepth (a child adopted before its parent was);
    // walking down from the roots without recursion, each span that would be too deep becomes a root.
    private static void CutTooDeep(List<SpanNode> roots, List<SpanNode> tooDeep)
    {
        var stack = new Stack<(SpanNode Node, int Depth)>(roots.Select(r => (r, 0)));
        while (stack.Count > 0)
        {
            var (node, depth) = stack.Pop();
            foreach (var child in node.Children.ToList())
            {
                if (depth + 1 < MaxDepth)
                {
                    stack.Push((child, depth + 1));
                    continue;
                }
                node.Release(child);
                child.NestedTooDeep = true;
                roots.Add(child);
                tooDeep.Add(child);
                stack.Push((child, 0));
            }
        }
    }

    private static string Named(SpanNode span) => $"'{span.Name}' ({span.SpanId})";

    // Spans without timestamps (Jaeger's v3 test data has them) sit at their parent's start, or the
    // trace's earliest known start, with no length, so offsets stay meaningful for the rest.
    private static void PlaceUntimed(List<SpanNode> nodes, List<SpanNode> roots, List<string> warnings)
    {
        var untimed = nodes.Where(n => !n.HasTimes).ToList();
        if (untimed.Count == 0) return;
        var known = nodes.Where(n => n.HasTimes).Select(n => n.StartUnixNano).DefaultIfEmpty(0).Min();
        foreach (var root in roots) Place(root, known);
        warnings.Add(untimed.Count == nodes.Count
            ? "no span has timestamps; all are shown at offset 0 with no length"
            : $"{untimed.Count} span(s) have no timestamps; each is shown at its parent's start with no length");

        static void Place(SpanNode n, long at)
        {
            if (!n.HasTimes) n.StartUnixNano = n.EndUnixNano = n.Parent?.StartUnixNano ?? at;
            foreach (var c in n.Children) Place(c, at);
        }
    }

    private static void Flatten(SpanNode n, List<SpanNode> into)
    {
        into.Add(n);
        foreach (var c in n.Children) Flatten(c, into);
    }
}
