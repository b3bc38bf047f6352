namespace Nerdbox.TraceViewer.Model;

/// <summary>
/// One trace, whatever it was read from, as a tree of spans. Every source normalises to this so the
/// renderers and the critical path never care whether the spans came from Jaeger, Aspire or a file.
/// </summary>
public sealed class TraceModel
{
    internal TraceModel(string traceId, IReadOnlyList<SpanNode> roots, IReadOnlyList<SpanNode> spans, IReadOnlyList<string> warnings)
    {
        TraceId = traceId;
        Roots = roots;
        Spans = spans;
        Warnings = warnings;
        StartUnixNano = spans.Min(s => s.StartUnixNano);
        EndUnixNano = spans.Max(s => s.EndUnixNano);
    }

    /// <summary>32 lower-case hex digits.</summary>
    public string TraceId { get; }

    /// <summary>Spans with no parent, or whose parent is not in the trace, ordered by start then name.</summary>
    public IReadOnlyList<SpanNode> Roots { get; }

    /// <summary>Every span once, depth first in display order.</summary>
    public IReadOnlyList<SpanNode> Spans { get; }

    /// <summary>What was odd about the input and how it was handled (duplicates, missing times...).</summary>
    public IReadOnlyList<string> Warnings { get; }

    public long StartUnixNano { get; }
    public long EndUnixNano { get; }
    public double DurationMs => (EndUnixNano - StartUnixNano) / 1e6;

    /// <summary>Service names in the order they first appear.</summary>
    public IReadOnlyList<string> Services => Spans.Select(s => s.Service).Distinct().ToList();

    /// <summary>Milliseconds from the trace's first start to <paramref name="unixNano"/>.</summary>
    public double OffsetMs(long unixNano) => (unixNano - StartUnixNano) / 1e6;
}

/// <summary>One span in a <see cref="TraceModel"/>.</summary>
public sealed class SpanNode
{
    private readonly List<SpanNode> _children = new();

    internal SpanNode(SpanRecord r)
    {
        SpanId = r.SpanId;
        ParentId = r.ParentId;
        Name = r.Name;
        Service = r.Service;
        StartUnixNano = r.StartUnixNano;
        EndUnixNano = Math.Max(r.StartUnixNano, r.EndUnixNano);
        HasTimes = r.HasTimes;
        IsError = r.IsError;
        StatusMessage = r.StatusMessage;
        Attributes = r.Attributes;
        Resource = r.Resource ?? new Dictionary<string, string>();
    }

    /// <summary>16 lower-case hex digits; a span that clashed with an earlier, different one gets a <c>~N</c> suffix.</summary>
    public string SpanId { get; }

    /// <summary>The parent's id as the span gave it, even when that parent is not in the trace.</summary>
    public string? ParentId { get; }

    public string Name { get; }
    public string Service { get; }
    public long StartUnixNano { get; internal set; }
    public long EndUnixNano { get; internal set; }

    /// <summary>False when the source gave no timestamps; the span is then placed at its parent's start with no length.</summary>
    public bool HasTimes { get; }

    public bool IsError { get; }
    public string? StatusMessage { get; }
    public IReadOnlyDictionary<string, string> Attributes { get; }

    /// <summary>The attributes of the process that made the span (OTLP resource, Jaeger process tags).</summary>
    public IReadOnlyDictionary<string, string> Resource { get; }

    public IReadOnlyList<SpanNode> Children => _children;
    public SpanNode? Parent { get; private set; }
    public int Depth { get; private set; }

    /// <summary>A root because its parent is missing from the trace (not a true root).</summary>
    public bool IsOrphan => Parent is null && ParentId is not null && !ClosesParentCycle && !NestedTooDeep;

    /// <summary>A root because linking it to its parent would have closed a parent cycle (a → b → a, or a → a).</summary>
    public bool ClosesParentCycle { get; internal set; }

    /// <summary>A root because under its parent it would have nested deeper than <see cref="TraceBuilder.MaxDepth"/>.</summary>
    public bool NestedTooDeep { get; internal set; }

    public DateTime StartUtc => DateTime.UnixEpoch.AddTicks(StartUnixNano / 100);
    public DateTime EndUtc => DateTime.UnixEpoch.AddTicks(EndUnixNano / 100);
    public double DurationMs => (EndUnixNano - StartUnixNano) / 1e6;

    internal void Adopt(SpanNode child)
    {
        child.Parent = this;
        _children.Add(child);
    }

    internal void Release(SpanNode child)
    {
        _children.Remove(child);
        child.Parent = null;
    }

    internal void Arrange(int depth)
    {
        Depth = depth;
        _children.Sort(SpanOrder.Instance);
        foreach (var c in _children) c.Arrange(depth + 1);
    }

    public override string ToString() => $"{Name} ({Service}, {SpanId})";
}

/// <summary>Display order: start time, then name, then id, so output is the same on every run.</summary>
internal sealed class SpanOrder : IComparer<SpanNode>
{
    public static readonly SpanOrder Instance = new();

    public int Compare(SpanNode? a, SpanNode? b)
    {
        if (ReferenceEquals(a, b)) return 0;
        if (a is null) return -1;
        if (b is null) return 1;
        var c = a.StartUnixNano.CompareTo(b.StartUnixNano);
        if (c == 0) c = string.CompareOrdinal(a.Name, b.Name);
        return c != 0 ? c : string.CompareOrdinal(a.SpanId, b.SpanId);
    }
}

/// <summary>Something about a trace or its source is wrong; the message says what and where.</summary>
public sealed class TraceViewerException : Exception
{
    public TraceViewerException(string message, Exception? inner = null) : base(message, inner) { }
}
