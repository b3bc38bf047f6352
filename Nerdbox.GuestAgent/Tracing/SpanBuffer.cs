using Google.Protobuf;
using Nerdbox.Api.Traces.V1;
using OtlpSpan = OpenTelemetry.Proto.Trace.V1.Span;

namespace Nerdbox.GuestAgent.Tracing;

/// <summary>
/// Holds finished guest spans until the host reads them. Bounded in spans and in bytes; adding
/// never blocks the instrumented code: when full, the new span is dropped and counted, and the
/// counts travel to the host with every batch. Workload telemetry has its own share
/// (<see cref="Workloads"/>), bounded apart from the agent's spans.
/// </summary>
internal sealed class SpanBuffer
{
    public const int DefaultMaxSpans = 16384;
    public const long DefaultMaxBytes = 8L * 1024 * 1024;

    private readonly object _lock = new();
    private readonly Queue<(string Scope, OtlpSpan Span, int Size)> _queue = new();
    private readonly SemaphoreSlim _available = new(0);
    private readonly int _maxSpans;
    private readonly long _maxBytes;
    private long _bytes;
    private ulong _recorded, _sent, _dropped, _bytesDropped;

    /// <summary>
    /// Bounds of the agent's spans; the workloads' share defaults to a quarter of them, and each
    /// container's bound to half the share.
    /// </summary>
    public SpanBuffer(int maxSpans = DefaultMaxSpans, long maxBytes = DefaultMaxBytes, int workloadItems = 0, long workloadBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSpans);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        _maxSpans = maxSpans;
        _maxBytes = maxBytes;
        workloadItems = workloadItems > 0 ? workloadItems : Math.Max(1, maxSpans / 4);
        workloadBytes = workloadBytes > 0 ? workloadBytes : Math.Max(1, maxBytes / 4);
        Workloads = new WorkloadShare(workloadItems, workloadBytes, Math.Max(1, workloadItems / 2), Math.Max(1, workloadBytes / 2), Signal);
    }

    /// <summary>The workloads' share: spans and log records from containers' OTLP endpoints.</summary>
    public WorkloadShare Workloads { get; }

    public int MaxSpans => _maxSpans;
    public long MaxBytes => _maxBytes;

    /// <summary>Spans and bytes held now.</summary>
    public (int Spans, long Bytes) Fill
    {
        get { lock (_lock) return (_queue.Count, _bytes); }
    }

    public void Add(string scope, OtlpSpan span)
    {
        var size = span.CalculateSize();
        lock (_lock)
        {
            _recorded++;
            if (_queue.Count >= _maxSpans || _bytes + size > _maxBytes)
            {
                _dropped++;
                _bytesDropped += (ulong)size;
                return;
            }
            _queue.Enqueue((scope, span, size));
            _bytes += size;
        }
        Signal();
    }

    private void Signal()
    {
        if (_available.CurrentCount == 0) _available.Release();
    }

    public BufferStats Stats()
    {
        BufferStats stats;
        lock (_lock) stats = StatsLocked();
        Workloads.AddStatsTo(stats);
        return stats;
    }

    private BufferStats StatsLocked() => new()
    {
        SpansRecorded = _recorded,
        SpansSent = _sent,
        SpansDropped = _dropped,
        BytesDropped = _bytesDropped,
        BufferCapacitySpans = (uint)_maxSpans,
        BufferCapacityBytes = (ulong)_maxBytes,
    };

    /// <summary>
    /// Waits for at least one span or workload item, then takes up to <paramref name="max"/> of them as a
    /// batch: the agent's spans first, but a quarter of the batch is kept for workload items when some wait.
    /// </summary>
    public async Task<SpanBatch> TakeBatchAsync(int max, CancellationToken ct)
    {
        while (true)
        {
            var workloadPending = Workloads.Pending > 0;
            SpanBatch? batch = null;
            lock (_lock)
            {
                if (_queue.Count > 0) batch = TakeLocked(workloadPending ? max - max / 4 : max);
            }
            if (workloadPending)
            {
                batch ??= new SpanBatch();
                Workloads.TakeInto(batch, Math.Max(1, max - batch.ScopeSpans.Sum(s => s.Spans.Count)));
                if (batch.Stats is null) lock (_lock) batch.Stats = StatsLocked();
            }
            if (batch is not null)
            {
                Workloads.AddStatsTo(batch.Stats);
                return batch;
            }
            await _available.WaitAsync(ct);
        }
    }

    private SpanBatch TakeLocked(int max)
    {
        var batch = new SpanBatch();
        var byScope = new Dictionary<string, OpenTelemetry.Proto.Trace.V1.ScopeSpans>();
        for (var i = 0; i < max && _queue.Count > 0; i++)
        {
            var (scope, span, size) = _queue.Dequeue();
            _bytes -= size;
            _sent++;
            if (!byScope.TryGetValue(scope, out var ss))
            {
                byScope[scope] = ss = new OpenTelemetry.Proto.Trace.V1.ScopeSpans
                {
                    Scope = new OpenTelemetry.Proto.Common.V1.InstrumentationScope { Name = scope },
                };
                batch.ScopeSpans.Add(ss);
            }
            ss.Spans.Add(span);
        }
        batch.Stats = StatsLocked();
        return batch;
    }
}
