using Google.Protobuf;
using Nerdbox.Api.Traces.V1;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.GuestAgent.Tracing;

/// <summary>
/// The workloads' share of the span buffer: spans and log records that containers sent to their OTLP
/// endpoints, held apart from the agent's own spans and bounded on their own (in items and bytes), so a
/// flooding workload never crowds out the boot's spans. Each container is bounded again within the share,
/// so one container cannot starve another. Items with bad ids are refused one by one; items over a bound
/// are dropped; both are counted per container and answered to the workload as OTLP partial success.
/// </summary>
internal sealed class WorkloadShare
{
    /// <summary>Largest piece of one request held as one entry, so a batch can take part of a big request.</summary>
    public const int MaxEntryItems = 128;

    /// <summary>Counters of containers that were deleted are kept for the host to read, up to this many.</summary>
    public const int MaxClosedContainers = 64;

    private readonly object _lock = new();
    private readonly Queue<Entry> _queue = new();
    private readonly Dictionary<string, Tally> _containers = new(StringComparer.Ordinal);
    private readonly Queue<string> _closed = new();
    private readonly Action _signal;
    private int _items;
    private long _bytes;
    private ulong _taken;

    public WorkloadShare(int maxItems, long maxBytes, int perContainerItems, long perContainerBytes, Action signal)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxItems);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        MaxItems = maxItems;
        MaxBytes = maxBytes;
        PerContainerItems = Math.Clamp(perContainerItems, 1, maxItems);
        PerContainerBytes = Math.Clamp(perContainerBytes, 1, maxBytes);
        _signal = signal;
    }

    public int MaxItems { get; }
    public long MaxBytes { get; }
    public int PerContainerItems { get; }
    public long PerContainerBytes { get; }

    /// <summary>Items held now.</summary>
    public int Pending
    {
        get { lock (_lock) return _items; }
    }

    /// <summary>Items the share has taken in since the agent started (the stream carries each of them).</summary>
    public ulong ItemsTaken
    {
        get { lock (_lock) return _taken; }
    }

    /// <summary>Starts (or restarts, for a reused id) a container's counters.</summary>
    public void Open(string containerId)
    {
        lock (_lock) _containers[containerId] = new Tally(containerId);
    }

    /// <summary>The container is gone: its counters stay readable, the oldest closed ones are forgotten.</summary>
    public void Close(string containerId)
    {
        lock (_lock)
        {
            if (!_containers.TryGetValue(containerId, out var tally) || tally.Closed) return;
            tally.Closed = true;
            _closed.Enqueue(containerId);
            while (_closed.Count > MaxClosedContainers)
            {
                var oldest = _closed.Dequeue();
                if (_containers.TryGetValue(oldest, out var t) && t.Closed) _containers.Remove(oldest);
            }
        }
    }

    /// <summary>A request refused whole (malformed, too large, not a relayed signal).</summary>
    public void RejectRequest(string containerId)
    {
        lock (_lock) TallyOf(containerId).Stats.RequestsRejected++;
    }

    /// <summary>What was refused or dropped of one request, for its partial-success answer.</summary>
    public readonly record struct Outcome(long Refused, long Dropped, string? Error)
    {
        public long NotKept => Refused + Dropped;

        public string? Message => (Refused, Dropped) switch
        {
            (0, 0) => null,
            (0, _) => $"{Dropped} dropped: the container's share of the guest's buffer is full",
            (_, 0) => $"{Refused} refused: {Error}",
            _ => $"{Refused} refused: {Error}; {Dropped} dropped: the container's share of the guest's buffer is full",
        };
    }

    public Outcome AddSpans(string containerId, ExportTraceServiceRequest request) => Add(containerId, request.ResourceSpans, SpanShape);

    public Outcome AddLogs(string containerId, ExportLogsServiceRequest request) => Add(containerId, request.ResourceLogs, LogShape);

    /// <summary>
    /// How one OTLP signal nests its items (resource, scope, item), how a held piece copies each level, and which
    /// of a container's counters it moves. One walk (<see cref="Add"/>) serves both signals.
    /// </summary>
    private sealed record Shape<TResource, TScope, TItem>(
        Func<TResource, OpenTelemetry.Proto.Resource.V1.Resource?> ResourceOf,
        Func<TResource, IEnumerable<TScope>> Scopes,
        Func<TScope, IEnumerable<TItem>> Items,
        Func<TItem, string?> Error,
        Func<TResource, TResource> EmptyCopy,
        Func<TResource, TScope, TScope> AddScopeCopy,
        Action<TScope, TItem> AddItem,
        Action<WorkloadStats> Received,
        Action<WorkloadStats> Dropped,
        Func<string, TResource, int, long, Entry> Entry) where TItem : IMessage;

    private static readonly Shape<ResourceSpans, ScopeSpans, Span> SpanShape = new(
        r => r.Resource, r => r.ScopeSpans, s => s.Spans, SpanError,
        r => new ResourceSpans { Resource = r.Resource, SchemaUrl = r.SchemaUrl },
        (piece, s) => { var copy = new ScopeSpans { Scope = s.Scope, SchemaUrl = s.SchemaUrl }; piece.ScopeSpans.Add(copy); return copy; },
        (scope, span) => scope.Spans.Add(span),
        stats => stats.SpansReceived++, stats => stats.SpansDropped++,
        (id, piece, items, bytes) => new Entry(id, piece, null, items, bytes));

    private static readonly Shape<ResourceLogs, ScopeLogs, LogRecord> LogShape = new(
        r => r.Resource, r => r.ScopeLogs, s => s.LogRecords, LogError,
        r => new ResourceLogs { Resource = r.Resource, SchemaUrl = r.SchemaUrl },
        (piece, s) => { var copy = new ScopeLogs { Scope = s.Scope, SchemaUrl = s.SchemaUrl }; piece.ScopeLogs.Add(copy); return copy; },
        (scope, record) => scope.LogRecords.Add(record),
        stats => stats.LogsReceived++, stats => stats.LogsDropped++,
        (id, piece, items, bytes) => new Entry(id, null, piece, items, bytes));

    /// <summary>
    /// Takes what fits of one request, in pieces of at most <see cref="MaxEntryItems"/> items that keep their
    /// resource and scope; refuses items with bad ids and drops those over a bound, counting both.
    /// </summary>
    private Outcome Add<TResource, TScope, TItem>(string containerId, IEnumerable<TResource> resources, Shape<TResource, TScope, TItem> shape)
        where TResource : class where TScope : class where TItem : IMessage
    {
        long refused = 0, dropped = 0;
        string? error = null;
        lock (_lock)
        {
            var tally = TallyOf(containerId);
            foreach (var resource in resources)
            {
                var resourceSize = shape.ResourceOf(resource)?.CalculateSize() ?? 0;
                TResource? piece = null;
                TScope? scope = null;
                int pieceItems = 0;
                long pieceBytes = 0;
                foreach (var sourceScope in shape.Scopes(resource))
                {
                    scope = null;
                    foreach (var item in shape.Items(sourceScope))
                    {
                        shape.Received(tally.Stats);
                        if (shape.Error(item) is { } why)
                        {
                            refused++;
                            tally.Stats.ItemsRejected++;
                            error ??= why;
                            continue;
                        }
                        var size = item.CalculateSize() + (piece is null ? resourceSize : 0);
                        if (!Fits(tally, pieceItems + 1, pieceBytes + size))
                        {
                            dropped++;
                            shape.Dropped(tally.Stats);
                            continue;
                        }
                        piece ??= shape.EmptyCopy(resource);
                        scope ??= shape.AddScopeCopy(piece, sourceScope);
                        shape.AddItem(scope, item);
                        pieceItems++;
                        pieceBytes += size;
                        if (pieceItems == MaxEntryItems)
                        {
                            Hold(tally, shape.Entry(containerId, piece, pieceItems, pieceBytes));
                            piece = null;
                            scope = null;
                            pieceItems = 0;
                            pieceBytes = 0;
                        }
                    }
                }
                if (piece is not null) Hold(tally, shape.Entry(containerId, piece, pieceItems, pieceBytes));
            }
        }
        _signal();
        return new Outcome(refused, dropped, error);
    }

    /// <summary>Whether a piece of this size, not yet held, still fits the share and the container's bound.</summary>
    private bool Fits(Tally tally, int pieceItems, long pieceBytes) =>
        _items + pieceItems <= MaxItems && _bytes + pieceBytes <= MaxBytes
        && tally.Items + pieceItems <= PerContainerItems && tally.Bytes + pieceBytes <= PerContainerBytes;

    private void Hold(Tally tally, Entry entry)
    {
        _queue.Enqueue(entry);
        _items += entry.Items;
        _bytes += entry.Bytes;
        _taken += (ulong)entry.Items;
        tally.Items += entry.Items;
        tally.Bytes += entry.Bytes;
    }

    /// <summary>Moves up to <paramref name="max"/> items into <paramref name="batch"/> (at least one entry when any is held); returns how many.</summary>
    public int TakeInto(SpanBatch batch, int max)
    {
        var taken = 0;
        lock (_lock)
        {
            while (_queue.TryPeek(out var entry) && (taken == 0 || taken + entry.Items <= max))
            {
                _queue.Dequeue();
                _items -= entry.Items;
                _bytes -= entry.Bytes;
                if (_containers.TryGetValue(entry.ContainerId, out var tally))
                {
                    tally.Items -= entry.Items;
                    tally.Bytes -= entry.Bytes;
                }
                if (entry.Spans is not null) batch.WorkloadSpans.Add(new WorkloadSpans { ContainerId = entry.ContainerId, ResourceSpans = entry.Spans });
                if (entry.Logs is not null) batch.WorkloadLogs.Add(new WorkloadLogs { ContainerId = entry.ContainerId, ResourceLogs = entry.Logs });
                taken += entry.Items;
            }
        }
        return taken;
    }

    /// <summary>Every container's counters, as the host reads them with each batch.</summary>
    public void AddStatsTo(BufferStats stats)
    {
        lock (_lock)
            foreach (var tally in _containers.Values) stats.Workloads.Add(tally.Stats.Clone());
    }

    /// <summary>The counters of one container, made on first use (a request can race the container's opening).</summary>
    private Tally TallyOf(string containerId) =>
        _containers.TryGetValue(containerId, out var t) ? t : _containers[containerId] = new Tally(containerId);

    private static string? SpanError(Span span)
    {
        if (span.TraceId.Length != 16) return $"span '{QuotedText.Cut(span.Name)}': trace_id must be 16 bytes (got {span.TraceId.Length})";
        if (IsZero(span.TraceId)) return $"span '{QuotedText.Cut(span.Name)}': trace_id is all zero";
        if (span.SpanId.Length != 8) return $"span '{QuotedText.Cut(span.Name)}': span_id must be 8 bytes (got {span.SpanId.Length})";
        if (IsZero(span.SpanId)) return $"span '{QuotedText.Cut(span.Name)}': span_id is all zero";
        if (span.ParentSpanId.Length is not (0 or 8)) return $"span '{QuotedText.Cut(span.Name)}': parent_span_id must be empty or 8 bytes (got {span.ParentSpanId.Length})";
        return null;
    }

    private static string? LogError(LogRecord record)
    {
        if (record.TraceId.Length is not (0 or 16)) return $"log record: trace_id must be empty or 16 bytes (got {record.TraceId.Length})";
        if (record.SpanId.Length is not (0 or 8)) return $"log record: span_id must be empty or 8 bytes (got {record.SpanId.Length})";
        return null;
    }

    private static bool IsZero(ByteString id)
    {
        foreach (var b in id.Span) if (b != 0) return false;
        return true;
    }

    private readonly record struct Entry(string ContainerId, ResourceSpans? Spans, ResourceLogs? Logs, int Items, long Bytes);

    private sealed class Tally(string containerId)
    {
        public WorkloadStats Stats { get; } = new() { ContainerId = containerId };
        public int Items;
        public long Bytes;
        public bool Closed;
    }
}
