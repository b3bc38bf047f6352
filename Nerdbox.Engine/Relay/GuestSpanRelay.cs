using Grpc.Core;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// Reads a guest's span stream and forwards the spans as OTLP data, ids untouched: each batch is
/// bounded (<see cref="SpanSanitizer"/>), moved onto the host's clock (<see cref="ClockEstimate"/>),
/// tagged with the offset applied and its uncertainty, and wrapped in the resource the host sets
/// (<c>service.name=nerdbox-vm</c>; the guest does not get to name itself). A container's own spans and
/// log records, which the agent received on that container's endpoint, take the same bounds, pace and
/// clock correction and keep their own resource, to which the host adds <c>container.id</c> and the VM's identity.
/// </summary>
public sealed class GuestSpanRelay : IAsyncDisposable
{
    public const int BatchSpans = 512;

    private readonly Api.Traces.V1.Traces.TracesClient _traces;
    private readonly ISpanSink _sink;
    private readonly RelayBounds _bounds;
    private readonly Resource _resource;
    private readonly SpanSanitizer _sanitizer;
    private readonly RelayPace _pace;
    private readonly DateTime _vmStartedUtc;
    private readonly CancellationTokenSource _stop = new();
    private readonly ClockEstimate _clock;
    private Task _pump = Task.CompletedTask;
    private readonly ILogSink? _logSink;
    private readonly IReadOnlyDictionary<string, string> _workloadIdentity;
    private long _handled; // spans and log records received and then submitted or dropped: what DrainAsync waits for
    private long _agentSpansReceived, _workloadSpansReceived, _workloadLogsReceived; // against the per-VM limits

    /// <param name="resourceAttributes">The guest's resource (the agent's spans go under it).</param>
    /// <param name="workloadIdentity">What the host adds to every workload's own resource, winning over it: the VM's identity.</param>
    /// <param name="logSink">Where workloads' log records go; without one they are counted dropped.</param>
    public GuestSpanRelay(Api.Traces.V1.Traces.TracesClient traces, ClockEstimate clock, ISpanSink sink, RelayBounds bounds,
        DateTime vmStartedUtc, IReadOnlyDictionary<string, string> resourceAttributes,
        IReadOnlyDictionary<string, string>? workloadIdentity = null, ILogSink? logSink = null)
    {
        _logSink = logSink;
        _workloadIdentity = workloadIdentity ?? new Dictionary<string, string>();
        _traces = traces;
        _clock = clock;
        _sink = sink;
        _bounds = bounds;
        _vmStartedUtc = vmStartedUtc;
        _sanitizer = new SpanSanitizer(bounds, Stats);
        _pace = new RelayPace(bounds.MaxSpansPerSecond);
        _resource = new Resource();
        _resource.Attributes.Add(Kv("service.name", ShimTracing.GuestServiceName));
        foreach (var (k, v) in resourceAttributes)
            if (k != "service.name") _resource.Attributes.Add(Kv(k, v));
    }

    public RelayStats Stats { get; } = new();

    /// <summary>Subscribes to the guest's stream; spans the guest buffered before now arrive first.</summary>
    public void Start()
    {
        var call = _traces.Stream(new StreamRequest { MaxBatchSpans = BatchSpans }, cancellationToken: _stop.Token);
        _pump = Task.Run(async () =>
        {
            using (call)
            {
                try
                {
                    while (await call.ResponseStream.MoveNext(_stop.Token)) await ForwardAsync(call.ResponseStream.Current, _stop.Token);
                }
                catch (RpcException) { /* the VM went away */ }
                catch (OperationCanceledException) { }
            }
        });
    }

    /// <summary>
    /// Waits until every span the guest had ended when asked has arrived (or was counted dropped),
    /// at most <paramref name="timeout"/>. Returns false when the guest could not be asked or the time ran out.
    /// </summary>
    public async Task<bool> DrainAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        DrainResponse r;
        try
        {
            r = await _traces.DrainAsync(new DrainRequest(), deadline: DateTime.UtcNow + timeout, cancellationToken: ct);
        }
        catch (RpcException)
        {
            return false;
        }
        if (r.Stats is { } stats) Stats.SetGuest(stats, _bounds);
        // Every span the guest had ended reaches the host, except those its buffer dropped; and every
        // workload span and log record its buffer had taken.
        var expected = (long)(r.SpansRecorded - (r.Stats?.SpansDropped ?? 0) + r.WorkloadItemsTaken);
        var deadline = DateTime.UtcNow + timeout;
        // Handled, not merely received: a batch counts once it is in the sinks (or counted dropped).
        while (Interlocked.Read(ref _handled) < expected && DateTime.UtcNow < deadline && !_pump.IsCompleted)
            await Task.Delay(5, ct);
        return Interlocked.Read(ref _handled) >= expected;
    }

    /// <summary>
    /// Handles one batch from the guest: paced to the rate bound, checked against the other bounds, and
    /// handed to the sinks once they have room. While it waits the relay reads nothing more, so HTTP/2 flow
    /// control holds the guest's stream and the guest's buffer absorbs the burst. The sinks bound their own
    /// waits and never wait for a destination that is down. The workloads' spans and log records take the
    /// same path, each container's under its own resource. Public so the bounds can be exercised directly.
    /// </summary>
    public async Task ForwardAsync(SpanBatch batch, CancellationToken cancellationToken = default)
    {
        var items = Count(batch);
        try
        {
            if (await UnlessStopping(_pace.TakeAsync(items, cancellationToken))) Stats.AddRateWait();
            var accepted = Check(batch);
            if (accepted.SpanCount > 0)
            {
                await UnlessStopping(_sink.WaitForRoomAsync(accepted.SpanCount, cancellationToken));
                foreach (var b in accepted.Spans) _sink.Submit(b);
            }
            if (accepted.LogCount > 0 && _logSink is { } logs)
            {
                await UnlessStopping(logs.WaitForRoomAsync(accepted.LogCount, cancellationToken));
                foreach (var b in accepted.Logs) logs.Submit(b);
            }
        }
        finally
        {
            // Handled once in the sinks (or counted dropped): what DrainAsync waits for.
            Interlocked.Add(ref _handled, items);
        }
    }

    /// <summary>Spans and log records in a batch: what the pace and DrainAsync count.</summary>
    private static int Count(SpanBatch batch)
    {
        var n = 0;
        foreach (var scope in batch.ScopeSpans) n += scope.Spans.Count;
        foreach (var w in batch.WorkloadSpans)
            if (w.ResourceSpans is { } rs) foreach (var scope in rs.ScopeSpans) n += scope.Spans.Count;
        foreach (var w in batch.WorkloadLogs)
            if (w.ResourceLogs is { } rl) foreach (var scope in rl.ScopeLogs) n += scope.LogRecords.Count;
        return n;
    }

    /// <summary>Waits; when the relay is stopping, goes on without: the sinks then take the batch or count it dropped.</summary>
    private static async ValueTask<bool> UnlessStopping(ValueTask<bool> wait)
    {
        try
        {
            return await wait;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async ValueTask UnlessStopping(ValueTask wait)
    {
        try
        {
            await wait;
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>What of a batch passes the bounds, corrected and wrapped in the resources the host sets.</summary>
    private sealed class Accepted
    {
        public List<ResourceSpans> Spans { get; } = [];
        public int SpanCount { get; set; }
        public List<ResourceLogs> Logs { get; } = [];
        public int LogCount { get; set; }
    }

    private Accepted Check(SpanBatch batch)
    {
        var accepted = new Accepted();
        var agent = new ResourceSpans { Resource = _resource };
        var forwarded = CheckScopes(batch.ScopeSpans, agent.ScopeSpans, ref _agentSpansReceived, _bounds.MaxSpansPerVm, "over the per-VM limit");
        if (forwarded > 0)
        {
            accepted.Spans.Add(agent);
            accepted.SpanCount += forwarded;
        }
        foreach (var w in batch.WorkloadSpans) CheckWorkload(w, accepted);
        foreach (var w in batch.WorkloadLogs) CheckWorkload(w, accepted);
        if (batch.Stats is { } s) Stats.SetGuest(s, _bounds);
        Stats.AddForwarded(accepted.SpanCount);
        return accepted;
    }

    /// <summary>The spans of <paramref name="scopes"/> that pass the bounds, into <paramref name="into"/>; returns how many.</summary>
    private int CheckScopes(IEnumerable<ScopeSpans> scopes, Google.Protobuf.Collections.RepeatedField<ScopeSpans> into,
        ref long receivedFromVm, long limitPerVm, string overLimit)
    {
        var forwarded = 0;
        foreach (var scope in scopes)
        {
            Stats.AddReceived(scope.Spans.Count);
            var outScope = new ScopeSpans { Scope = BoundedScope(scope.Scope) };
            foreach (var span in scope.Spans)
            {
                // Counted span by span, so that the per-VM limit lets exactly its number through.
                if (Interlocked.Increment(ref receivedFromVm) > limitPerVm) { Stats.AddDropped(overLimit); continue; }
                if (_sanitizer.Check(span) is { } reason) { Stats.AddDropped(reason); continue; }
                if (!Correct(span)) { Stats.AddDropped("timestamps out of range"); continue; }
                outScope.Spans.Add(span);
                forwarded++;
            }
            if (outScope.Spans.Count > 0) into.Add(outScope);
        }
        return forwarded;
    }

    private InstrumentationScope BoundedScope(InstrumentationScope? scope) => new()
    {
        Name = Truncate(scope?.Name ?? "", _bounds.MaxScopeNameLength),
        Version = Truncate(scope?.Version ?? "", 64),
    };

    /// <summary>One container's spans, bounded and counted as the agent's are, under the workload's own resource.</summary>
    private void CheckWorkload(WorkloadSpans w, Accepted accepted)
    {
        var scopes = w.ResourceSpans?.ScopeSpans ?? [];
        var spans = scopes.Sum(s => s.Spans.Count);
        if (Container(w.ContainerId) is not { } container)
        {
            Stats.AddReceived(spans);
            Stats.AddDropped(WorkloadRelay.ContainerId(w.ContainerId, _bounds) is null ? "bad container id" : "too many containers", spans);
            return;
        }
        var batch = new ResourceSpans();
        var forwarded = CheckScopes(scopes, batch.ScopeSpans, ref _workloadSpansReceived, _bounds.MaxWorkloadSpansPerVm, "over the per-VM workload limit");
        container.AddSpans(spans, forwarded);
        if (forwarded == 0) return;
        if (_watch is { } watch) Watch(watch, batch);
        batch.Resource = WorkloadRelay.Resource(w.ResourceSpans!.Resource, container.ContainerId, _workloadIdentity, _sanitizer);
        accepted.Spans.Add(batch);
        accepted.SpanCount += forwarded;
    }

    /// <summary>One container's log records, bounded and clock-corrected like its spans, under its own resource.</summary>
    private void CheckWorkload(WorkloadLogs w, Accepted accepted)
    {
        var scopes = w.ResourceLogs?.ScopeLogs ?? [];
        var records = scopes.Sum(s => s.LogRecords.Count);
        if (Container(w.ContainerId) is not { } container)
        {
            Stats.AddLogsDropped(WorkloadRelay.ContainerId(w.ContainerId, _bounds) is null ? "bad container id" : "too many containers", records);
            return;
        }
        var batch = new ResourceLogs();
        var forwarded = 0;
        foreach (var scope in scopes)
        {
            var outScope = new ScopeLogs { Scope = BoundedScope(scope.Scope) };
            foreach (var record in scope.LogRecords)
            {
                string? reason = null;
                if (_logSink is null) reason = "no log destination";
                else if (Interlocked.Increment(ref _workloadLogsReceived) > _bounds.MaxWorkloadLogsPerVm) reason = "over the per-VM workload limit";
                else if (_sanitizer.CheckLogRecord(record) is { } bad) reason = bad;
                else if (!Correct(record)) reason = "timestamps out of range";
                if (reason is not null) { Stats.AddLogsDropped(reason); continue; }
                outScope.LogRecords.Add(record);
                forwarded++;
            }
            if (outScope.LogRecords.Count > 0) batch.ScopeLogs.Add(outScope);
        }
        container.AddLogs(records, forwarded);
        if (forwarded == 0) return;
        batch.Resource = WorkloadRelay.Resource(w.ResourceLogs!.Resource, container.ContainerId, _workloadIdentity, _sanitizer);
        accepted.Logs.Add(batch);
        accepted.LogCount += forwarded;
    }

    private sealed record WatchedSpan(string Name, Action<DateTime> Ended)
    {
        public int Fired;
    }

    private WatchedSpan? _watch;

    /// <summary>
    /// Calls <paramref name="ended"/> once, with the host time at which it ended, for the first workload span
    /// named <paramref name="name"/> that the relay forwards (after its bounds and clock correction). Set it
    /// before <see cref="Start"/>; it is called on the relay's own thread.
    /// </summary>
    public void OnFirstWorkloadSpan(string name, Action<DateTime> ended) => _watch = new WatchedSpan(name, ended);

    private static void Watch(WatchedSpan watch, ResourceSpans batch)
    {
        if (Volatile.Read(ref watch.Fired) == 1) return;
        foreach (var scope in batch.ScopeSpans)
            foreach (var span in scope.Spans)
                if (span.Name == watch.Name && Interlocked.Exchange(ref watch.Fired, 1) == 0)
                {
                    watch.Ended(DateTime.UnixEpoch.AddTicks((long)(span.EndTimeUnixNano / 100)));
                    return;
                }
    }

    private WorkloadRelayStats? Container(string id) =>
        WorkloadRelay.ContainerId(id, _bounds) is { } valid ? Stats.Workload(valid, _bounds.MaxWorkloadContainers) : null;

    /// <summary>
    /// Sends spans the host made from what the guest reported (its boot clock, its kernel log) under
    /// the guest's resource, as work of the guest. They are on the host's clock already.
    /// </summary>
    public void SubmitDerived(string scopeName, IReadOnlyList<Span> spans)
    {
        if (spans.Count == 0 || Volatile.Read(ref _disposed) == 1) return;
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = scopeName } };
        scope.Spans.Add(spans);
        Stats.AddForwarded(spans.Count);
        _sink.Submit(new ResourceSpans { Resource = _resource, ScopeSpans = { scope } });
    }

    /// <summary>Moves a guest span onto the host's clock and records what was applied.</summary>
    private bool Correct(Span span)
    {
        if (!ToHost(span.StartTimeUnixNano, out var start) || !ToHost(span.EndTimeUnixNano, out var end)) return false;
        span.StartTimeUnixNano = start;
        span.EndTimeUnixNano = end;
        foreach (var e in span.Events) e.TimeUnixNano = (ulong)Math.Max(0, _clock.ToHostUnixNano(e.TimeUnixNano));
        AddClockAttributes(span.Attributes);
        return true;
    }

    /// <summary>A log record's times the same way; a time it left unset (zero) stays unset.</summary>
    private bool Correct(LogRecord record)
    {
        ulong time = 0, observed = 0;
        if (record.TimeUnixNano != 0 && !ToHost(record.TimeUnixNano, out time)) return false;
        if (record.ObservedTimeUnixNano != 0 && !ToHost(record.ObservedTimeUnixNano, out observed)) return false;
        record.TimeUnixNano = time;
        record.ObservedTimeUnixNano = observed;
        AddClockAttributes(record.Attributes);
        return true;
    }

    /// <summary>A guest time on the host's clock, if it lies between the VM's start and now (each with slack).</summary>
    private bool ToHost(ulong guestUnixNano, out ulong hostUnixNano)
    {
        var host = _clock.ToHostUnixNano(guestUnixNano);
        var earliest = (_vmStartedUtc - _bounds.TimestampSlack - DateTime.UnixEpoch).Ticks * 100;
        var latest = (DateTime.UtcNow + _bounds.TimestampSlack - DateTime.UnixEpoch).Ticks * 100;
        hostUnixNano = host < earliest || host > latest ? 0 : (ulong)host;
        return hostUnixNano != 0;
    }

    private void AddClockAttributes(Google.Protobuf.Collections.RepeatedField<KeyValue> attributes)
    {
        attributes.Add(new KeyValue { Key = "nerdbox.clock.offset_ns", Value = new AnyValue { IntValue = _clock.OffsetNs } });
        attributes.Add(new KeyValue { Key = "nerdbox.clock.uncertainty_ns", Value = new AnyValue { IntValue = _clock.UncertaintyNs } });
    }

    private string Truncate(string s, int max)
    {
        if (s.Length <= max) return s;
        Stats.AddTruncated(1);
        return s[..max];
    }

    private static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stop.Cancel();
        await _pump;
        _stop.Dispose();
        _pace.Dispose();
    }
}
