using Grpc.Core;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// Reads a guest's span stream and forwards the spans as OTLP data, ids untouched: each batch is
/// bounded (<see cref="SpanSanitizer"/>), moved onto the host's clock (<see cref="ClockEstimate"/>),
/// tagged with the offset applied and its uncertainty, and wrapped in the resource the host sets
/// (<c>service.name=nerdbox-vm</c>; the guest does not get to name itself).
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
    private long _handled; // spans received and then submitted or dropped: what DrainAsync waits for

    public GuestSpanRelay(Api.Traces.V1.Traces.TracesClient traces, ClockEstimate clock, ISpanSink sink, RelayBounds bounds,
        DateTime vmStartedUtc, IReadOnlyDictionary<string, string> resourceAttributes)
    {
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
        // Every span the guest had ended reaches the host, except those its buffer dropped.
        var expected = (long)(r.SpansRecorded - r.Stats.SpansDropped);
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
    /// waits and never wait for a destination that is down. Public so the bounds can be exercised directly.
    /// </summary>
    public async Task ForwardAsync(SpanBatch batch, CancellationToken cancellationToken = default)
    {
        var spans = 0;
        foreach (var scope in batch.ScopeSpans) spans += scope.Spans.Count;
        try
        {
            if (await UnlessStopping(_pace.TakeAsync(spans, cancellationToken))) Stats.AddRateWait();
            if (Check(batch) is not { } accepted) return;
            await UnlessStopping(_sink.WaitForRoomAsync(accepted.Spans, cancellationToken));
            _sink.Submit(accepted.Batch);
        }
        finally
        {
            // Handled once in the sinks (or counted dropped): what DrainAsync waits for.
            Interlocked.Add(ref _handled, spans);
        }
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

    /// <summary>The batch's spans that pass the bounds, corrected and wrapped in the host's resource; null when none do.</summary>
    private (ResourceSpans Batch, int Spans)? Check(SpanBatch batch)
    {
        var scopes = new ResourceSpans { Resource = _resource };
        var forwarded = 0;
        foreach (var scope in batch.ScopeSpans)
        {
            // Counted span by span, so that the per-VM limit lets exactly its number through.
            var received = Stats.AddReceived(scope.Spans.Count) - scope.Spans.Count;
            var outScope = new ScopeSpans
            {
                Scope = new InstrumentationScope
                {
                    Name = Truncate(scope.Scope?.Name ?? "", _bounds.MaxScopeNameLength),
                    Version = Truncate(scope.Scope?.Version ?? "", 64),
                },
            };
            foreach (var span in scope.Spans)
            {
                if (++received > _bounds.MaxSpansPerVm) { Stats.AddDropped("over the per-VM limit"); continue; }
                if (_sanitizer.Check(span) is { } reason) { Stats.AddDropped(reason); continue; }
                if (!Correct(span)) { Stats.AddDropped("timestamps out of range"); continue; }
                outScope.Spans.Add(span);
                forwarded++;
            }
            if (outScope.Spans.Count > 0) scopes.ScopeSpans.Add(outScope);
        }
        if (batch.Stats is { } s)
        {
            Stats.SetGuestDropped((long)s.SpansDropped);
        }
        if (forwarded == 0) return null;
        Stats.AddForwarded(forwarded);
        return (scopes, forwarded);
    }

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
        var start = _clock.ToHostUnixNano(span.StartTimeUnixNano);
        var end = _clock.ToHostUnixNano(span.EndTimeUnixNano);
        var earliest = (_vmStartedUtc - _bounds.TimestampSlack - DateTime.UnixEpoch).Ticks * 100;
        var latest = (DateTime.UtcNow + _bounds.TimestampSlack - DateTime.UnixEpoch).Ticks * 100;
        if (start < earliest || end > latest) return false;
        span.StartTimeUnixNano = (ulong)start;
        span.EndTimeUnixNano = (ulong)end;
        foreach (var e in span.Events) e.TimeUnixNano = (ulong)Math.Max(0, _clock.ToHostUnixNano(e.TimeUnixNano));
        span.Attributes.Add(new KeyValue { Key = "nerdbox.clock.offset_ns", Value = new AnyValue { IntValue = _clock.OffsetNs } });
        span.Attributes.Add(new KeyValue { Key = "nerdbox.clock.uncertainty_ns", Value = new AnyValue { IntValue = _clock.UncertaintyNs } });
        return true;
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
