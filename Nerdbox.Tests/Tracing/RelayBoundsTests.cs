using Google.Protobuf;
using Grpc.Net.Client;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Telemetry;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// The host's side of the guest's span stream, fed hostile batches straight into
/// <see cref="GuestSpanRelay.ForwardAsync"/>: what cannot be trusted is dropped, what is too large is cut,
/// both are counted by reason, and what goes on is within the bounds, keeps its ids, carries the
/// clock correction and the resource the host sets.
/// </summary>
public sealed class RelayBoundsTests : IDisposable
{
    private const long OffsetNs = 7_000_000; // the guest's clock is 7 ms ahead
    private const long UncertaintyNs = 150_000;
    private static readonly ClockEstimate Clock = new(OffsetNs, UncertaintyNs, DateTime.UtcNow.AddSeconds(-30), 1_200_000_000, 8);

    // Never called: nothing in these tests subscribes to a stream.
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress("http://127.0.0.1:1");
    private readonly InMemorySpanSink _sink = new();
    private readonly DateTime _vmStarted = DateTime.UtcNow.AddSeconds(-20);

    public void Dispose() => _channel.Dispose();

    private GuestSpanRelay Relay(RelayBounds? bounds = null) =>
        new(new Traces.TracesClient(_channel), Clock, _sink, bounds ?? RelayBounds.Default, _vmStarted,
            new Dictionary<string, string> { ["service.instance.id"] = "vm-1" });

    private static long NowNs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    /// <summary>A well-formed span on the guest's clock, ended a moment ago.</summary>
    private static Span GoodSpan(string name = "task.Create")
    {
        var start = NowNs() - 5_000_000 + OffsetNs;
        return new Span
        {
            TraceId = ByteString.CopyFrom(Random.Shared.GetItems(Enumerable.Range(1, 255).Select(i => (byte)i).ToArray(), 16)),
            SpanId = ByteString.CopyFrom(Random.Shared.GetItems(Enumerable.Range(1, 255).Select(i => (byte)i).ToArray(), 8)),
            ParentSpanId = ByteString.CopyFrom(Random.Shared.GetItems(Enumerable.Range(1, 255).Select(i => (byte)i).ToArray(), 8)),
            Name = name,
            Kind = Span.Types.SpanKind.Internal,
            StartTimeUnixNano = (ulong)start,
            EndTimeUnixNano = (ulong)(start + 1_000_000),
            Attributes = { new KeyValue { Key = "k", Value = new AnyValue { StringValue = "v" } } },
        };
    }

    private static SpanBatch Batch(params Span[] spans) => Batch("Nerdbox.GuestAgent", spans);

    private static SpanBatch Batch(string scope, params Span[] spans)
    {
        var ss = new ScopeSpans { Scope = new InstrumentationScope { Name = scope } };
        ss.Spans.AddRange(spans);
        return new SpanBatch { ScopeSpans = { ss } };
    }

    private List<(ResourceSpans Resource, ScopeSpans Scope, Span Span)> Forwarded() =>
        _sink.Snapshot().SelectMany(rs => rs.ScopeSpans.SelectMany(ss => ss.Spans.Select(s => (rs, ss, s)))).ToList();

    private static void AssertWithinBounds(Span s, RelayBounds b)
    {
        Assert.Equal(16, s.TraceId.Length);
        Assert.Equal(8, s.SpanId.Length);
        Assert.True(s.Name.Length <= b.MaxNameLength);
        Assert.True(s.EndTimeUnixNano >= s.StartTimeUnixNano);
        Assert.True(s.EndTimeUnixNano - s.StartTimeUnixNano <= (ulong)b.MaxDuration.Ticks * 100);
        // Two clock attributes are the host's own, on top of the guest's allowance.
        AssertAttributes(s.Attributes, b, extra: 2);
        Assert.True(s.Events.Count <= b.MaxEventsPerSpan);
        foreach (var e in s.Events) { Assert.True(e.Name.Length <= b.MaxNameLength); AssertAttributes(e.Attributes, b, 0); }
        Assert.True(s.Links.Count <= b.MaxLinksPerSpan);
        foreach (var l in s.Links) AssertAttributes(l.Attributes, b, 0);
        Assert.True((s.Status?.Message.Length ?? 0) <= 1024);
    }

    private static void AssertAttributes(IEnumerable<KeyValue> attributes, RelayBounds b, int extra)
    {
        var list = attributes.ToList();
        Assert.True(list.Count <= b.MaxAttributesPerSpan + extra, $"{list.Count} attributes");
        foreach (var kv in list)
        {
            Assert.InRange(kv.Key.Length, 1, b.MaxAttributeKeyLength);
            AssertValue(kv.Value, b, 0);
        }
    }

    private static void AssertValue(AnyValue? v, RelayBounds b, int depth)
    {
        if (v is null) return;
        Assert.True(depth <= 2, "nested deeper than two levels");
        switch (v.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue: Assert.True(v.StringValue.Length <= b.MaxAttributeValueLength); break;
            case AnyValue.ValueOneofCase.BytesValue: Assert.True(v.BytesValue.Length <= b.MaxAttributeValueLength); break;
            case AnyValue.ValueOneofCase.ArrayValue:
                Assert.True(v.ArrayValue.Values.Count <= b.MaxArrayValues);
                foreach (var x in v.ArrayValue.Values) AssertValue(x, b, depth + 1);
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                Assert.True(v.KvlistValue.Values.Count <= b.MaxArrayValues);
                foreach (var x in v.KvlistValue.Values) AssertValue(x.Value, b, depth + 1);
                break;
        }
    }

    [Fact]
    public async Task A_good_span_goes_on_with_its_ids_on_the_host_clock_under_the_hosts_resource()
    {
        await using var relay = Relay();
        var span = GoodSpan();
        span.Events.Add(new Span.Types.Event { Name = "e", TimeUnixNano = span.StartTimeUnixNano + 10 });
        // The guest cannot name itself: a service.name of its own stays a span attribute at most.
        span.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "not-the-vm" } });
        var (traceId, spanId, parentId, start, end) = (span.TraceId, span.SpanId, span.ParentSpanId, span.StartTimeUnixNano, span.EndTimeUnixNano);

        await relay.ForwardAsync(Batch("service.name", span));

        var (resource, scope, got) = Assert.Single(Forwarded());
        Assert.Equal(traceId, got.TraceId);
        Assert.Equal(spanId, got.SpanId);
        Assert.Equal(parentId, got.ParentSpanId);
        Assert.Equal(start - OffsetNs, got.StartTimeUnixNano);
        Assert.Equal(end - OffsetNs, got.EndTimeUnixNano);
        Assert.Equal(start + 10 - OffsetNs, got.Events[0].TimeUnixNano);
        var attrs = got.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal(OffsetNs, attrs["nerdbox.clock.offset_ns"].IntValue);
        Assert.Equal(UncertaintyNs, attrs["nerdbox.clock.uncertainty_ns"].IntValue);
        var serviceNames = resource.Resource.Attributes.Where(a => a.Key == "service.name").ToList();
        Assert.Equal(ShimTracing.GuestServiceName, Assert.Single(serviceNames).Value.StringValue);
        Assert.Contains(resource.Resource.Attributes, a => a.Key == "service.instance.id" && a.Value.StringValue == "vm-1");
        Assert.Equal("service.name", scope.Scope.Name);
        Assert.Equal(1, relay.Stats.Forwarded);
        Assert.Equal(0, relay.Stats.DroppedByHost);
    }

    [Theory]
    [InlineData("trace id empty", "bad trace id")]
    [InlineData("trace id short", "bad trace id")]
    [InlineData("trace id long", "bad trace id")]
    [InlineData("trace id zero", "bad trace id")]
    [InlineData("span id empty", "bad span id")]
    [InlineData("span id zero", "bad span id")]
    [InlineData("span id long", "bad span id")]
    [InlineData("parent id short", "bad parent span id")]
    [InlineData("no start", "bad timestamps")]
    [InlineData("end before start", "bad timestamps")]
    [InlineData("two hours long", "too long")]
    [InlineData("a hundred years long", "too long")]
    [InlineData("before the VM started", "timestamps out of range")]
    [InlineData("a day in the future", "timestamps out of range")]
    [InlineData("year 1970", "timestamps out of range")]
    public async Task An_untrustworthy_span_is_dropped_and_counted_by_reason(string @case, string reason)
    {
        await using var relay = Relay();
        var bad = GoodSpan("bad");
        var hour = 3_600_000_000_000UL;
        switch (@case)
        {
            case "trace id empty": bad.TraceId = ByteString.Empty; break;
            case "trace id short": bad.TraceId = ByteString.CopyFrom(new byte[15] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }); break;
            case "trace id long": bad.TraceId = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 17).ToArray()); break;
            case "trace id zero": bad.TraceId = ByteString.CopyFrom(new byte[16]); break;
            case "span id empty": bad.SpanId = ByteString.Empty; break;
            case "span id zero": bad.SpanId = ByteString.CopyFrom(new byte[8]); break;
            case "span id long": bad.SpanId = ByteString.CopyFrom(Enumerable.Repeat((byte)7, 9).ToArray()); break;
            case "parent id short": bad.ParentSpanId = ByteString.CopyFrom(new byte[] { 1, 2, 3 }); break;
            case "no start": bad.StartTimeUnixNano = 0; break;
            case "end before start": bad.EndTimeUnixNano = bad.StartTimeUnixNano - 1; break;
            case "two hours long": bad.StartTimeUnixNano = bad.EndTimeUnixNano - 2 * hour; break;
            case "a hundred years long": bad.StartTimeUnixNano = 1; bad.EndTimeUnixNano = ulong.MaxValue; break;
            case "before the VM started":
                bad.StartTimeUnixNano = (ulong)((_vmStarted.AddMinutes(-5) - DateTime.UnixEpoch).Ticks * 100 + OffsetNs);
                bad.EndTimeUnixNano = bad.StartTimeUnixNano + 1000;
                break;
            case "a day in the future": bad.StartTimeUnixNano += 24 * hour; bad.EndTimeUnixNano += 24 * hour; break;
            case "year 1970": bad.StartTimeUnixNano = 1000; bad.EndTimeUnixNano = 2000; break;
            default: throw new ArgumentException(@case);
        }
        var good = GoodSpan("good");

        await relay.ForwardAsync(Batch(bad, good));

        var (_, _, got) = Assert.Single(Forwarded());
        Assert.Equal("good", got.Name);
        Assert.Equal(2, relay.Stats.Received);
        Assert.Equal(1, relay.Stats.Forwarded);
        Assert.Equal(new Dictionary<string, long> { [reason] = 1 }, relay.Stats.DroppedByReason);
    }

    [Fact]
    public async Task Oversized_spans_are_cut_to_the_bounds_counted_and_keep_their_ids()
    {
        var bounds = RelayBounds.Default;
        await using var relay = Relay();
        var megabyte = new string('x', 1024 * 1024);
        var span = GoodSpan(new string('n', 100_000));
        var (traceId, spanId, parentId) = (span.TraceId, span.SpanId, span.ParentSpanId);
        span.Attributes.Clear();
        for (var i = 0; i < 10_000; i++) span.Attributes.Add(new KeyValue { Key = "a" + i, Value = new AnyValue { IntValue = i } });
        // The first attributes are the ones kept: put the awkward ones there.
        span.Attributes.Insert(0, new KeyValue { Key = "big", Value = new AnyValue { StringValue = megabyte } });
        span.Attributes.Insert(1, new KeyValue { Key = "bytes", Value = new AnyValue { BytesValue = ByteString.CopyFrom(new byte[1024 * 1024]) } });
        span.Attributes.Insert(2, new KeyValue { Key = new string('k', 10_000), Value = new AnyValue { StringValue = "long key" } });
        span.Attributes.Insert(3, new KeyValue { Key = "", Value = new AnyValue { StringValue = "no key" } });
        span.Attributes.Insert(4, new KeyValue { Key = "deep", Value = Nested(50) });
        span.Attributes.Insert(5, new KeyValue { Key = "wide", Value = new AnyValue { ArrayValue = new ArrayValue { Values = { Enumerable.Range(0, 10_000).Select(i => new AnyValue { IntValue = i }) } } } });
        span.Attributes.Insert(6, new KeyValue { Key = "kv", Value = new AnyValue { KvlistValue = new KeyValueList { Values = { Enumerable.Range(0, 100).Select(i => new KeyValue { Key = "x" + i, Value = new AnyValue { StringValue = megabyte } }) } } } });
        for (var i = 0; i < 1000; i++)
        {
            var e = new Span.Types.Event { Name = new string('e', 5000), TimeUnixNano = span.StartTimeUnixNano };
            if (i == 0) for (var j = 0; j < 100; j++) e.Attributes.Add(new KeyValue { Key = "ea" + j, Value = new AnyValue { StringValue = megabyte } });
            span.Events.Add(e);
        }
        for (var i = 0; i < 200; i++)
        {
            var l = new Span.Types.Link { TraceId = traceId, SpanId = spanId };
            if (i == 0) for (var j = 0; j < 100; j++) l.Attributes.Add(new KeyValue { Key = "la" + j, Value = new AnyValue { StringValue = megabyte } });
            span.Links.Add(l);
        }
        span.Status = new Status { Code = Status.Types.StatusCode.Error, Message = megabyte };
        span.TraceState = new string('t', 10_000);
        var sizeBefore = span.CalculateSize();

        await relay.ForwardAsync(Batch(new string('s', 10_000), span));

        var (_, scope, got) = Assert.Single(Forwarded());
        Assert.Equal(traceId, got.TraceId);
        Assert.Equal(spanId, got.SpanId);
        Assert.Equal(parentId, got.ParentSpanId);
        AssertWithinBounds(got, bounds);
        Assert.Equal(bounds.MaxScopeNameLength, scope.Scope.Name.Length);
        Assert.Equal(bounds.MaxNameLength, got.Name.Length);
        Assert.Equal("", got.TraceState);
        var attrs = got.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal(bounds.MaxAttributeValueLength, attrs["big"].StringValue.Length);
        Assert.Equal(bounds.MaxAttributeValueLength, attrs["bytes"].BytesValue.Length);
        Assert.DoesNotContain(got.Attributes, a => a.Key.Length > bounds.MaxAttributeKeyLength || a.Key == "");
        Assert.Equal(bounds.MaxArrayValues, attrs["wide"].ArrayValue.Values.Count);
        Assert.Equal(bounds.MaxArrayValues, attrs["kv"].KvlistValue.Values.Count);
        // Two levels of nesting are kept; below that the value is replaced by a marker.
        Assert.Equal("(nested value dropped)", attrs["deep"].ArrayValue.Values[0].ArrayValue.Values[0].StringValue);
        // 10,007 attributes: 64 kept, of which the two keyless/overlong are removed, then the host's two clock attributes.
        Assert.Equal(10_007u - 62u, got.DroppedAttributesCount);
        Assert.Equal(bounds.MaxAttributesPerSpan - 2 + 2, got.Attributes.Count);
        Assert.Equal((uint)(1000 - bounds.MaxEventsPerSpan), got.DroppedEventsCount);
        Assert.Equal((uint)(100 - bounds.MaxAttributesPerSpan), got.Events[0].DroppedAttributesCount);
        Assert.Equal((uint)(200 - bounds.MaxLinksPerSpan), got.DroppedLinksCount);
        Assert.Equal((uint)(100 - bounds.MaxAttributesPerSpan), got.Links[0].DroppedAttributesCount);
        Assert.Equal(1024, got.Status.Message.Length);

        Assert.Equal(0, relay.Stats.DroppedByHost);
        Assert.Equal(1, relay.Stats.Forwarded);
        // Every cut is counted: at least the attributes, events and links removed, plus the strings shortened.
        var removed = (10_007 - 62) + (1000 - 32) + (100 - 64) + (200 - 8) + (100 - 64);
        Assert.True(relay.Stats.TruncatedValues >= removed + 1 /*name*/ + 1 /*scope*/ + 1 /*trace state*/ + 2 /*big, bytes*/ + 1 /*status*/,
            $"{relay.Stats.TruncatedValues} cuts counted");
        var sizeAfter = got.CalculateSize();
        Assert.True(sizeAfter < sizeBefore / 100, $"{sizeBefore} bytes in, {sizeAfter} out");
    }

    [Fact]
    public async Task A_string_table_reference_from_the_guest_is_replaced_and_counted()
    {
        await using var relay = Relay();
        var span = GoodSpan("strindex");
        span.Attributes.Add(new KeyValue { Key = "ref", Value = new AnyValue { StringValueStrindex = 7 } });
        span.Attributes.Add(new KeyValue { KeyStrindex = 3, Value = new AnyValue { StringValue = "keyed by index" } });

        await relay.ForwardAsync(Batch("scope", span));

        var (_, _, got) = Assert.Single(Forwarded());
        Assert.Equal("(string table reference dropped)", got.Attributes.Single(a => a.Key == "ref").Value.StringValue);
        Assert.DoesNotContain(got.Attributes, a => a.Key == "" || a.KeyStrindex != 0);
        Assert.True(relay.Stats.TruncatedValues >= 2, $"{relay.Stats.TruncatedValues} cuts counted");
    }

    private static AnyValue Nested(int depth)
    {
        var v = new AnyValue { StringValue = "bottom" };
        for (var i = 0; i < depth; i++) v = new AnyValue { ArrayValue = new ArrayValue { Values = { v } } };
        return v;
    }

    [Fact]
    public async Task The_per_VM_limit_lets_exactly_its_number_through_and_counts_the_rest()
    {
        await using var relay = Relay(RelayBounds.Default with { MaxSpansPerVm = 100 });
        await relay.ForwardAsync(Batch(Enumerable.Range(0, 60).Select(_ => GoodSpan()).ToArray()));
        await relay.ForwardAsync(Batch(Enumerable.Range(0, 60).Select(_ => GoodSpan()).ToArray()));
        Assert.Equal(100, relay.Stats.Forwarded);
        Assert.Equal(100, Forwarded().Count);
        Assert.Equal(new Dictionary<string, long> { ["over the per-VM limit"] = 20 }, relay.Stats.DroppedByReason);
        Assert.Equal(120, relay.Stats.Received);

        // One batch alone larger than the limit, into a fresh relay: the first 100 still go.
        await using var one = Relay(RelayBounds.Default with { MaxSpansPerVm = 100 });
        await one.ForwardAsync(Batch(Enumerable.Range(0, 150).Select(_ => GoodSpan()).ToArray()));
        Assert.Equal(100, one.Stats.Forwarded);
        Assert.Equal(50, one.Stats.DroppedByReason["over the per-VM limit"]);
    }

    [Fact]
    public async Task Spans_over_the_rate_limit_are_held_back_not_dropped()
    {
        await using var relay = Relay(RelayBounds.Default with { MaxSpansPerSecond = 100 });
        // A burst of one second's worth goes at once.
        await relay.ForwardAsync(Batch(Enumerable.Range(0, 100).Select(_ => GoodSpan()).ToArray()));
        Assert.Equal(100, relay.Stats.Forwarded);

        // Three times that, in one batch and then in small ones: the relay waits for the bucket
        // (it would stop reading the guest's stream meanwhile) and everything goes on.
        await relay.ForwardAsync(Batch(Enumerable.Range(0, 300).Select(_ => GoodSpan()).ToArray()));
        for (var i = 0; i < 10; i++) await relay.ForwardAsync(Batch(Enumerable.Range(0, 10).Select(_ => GoodSpan()).ToArray()));
        Assert.Equal(500, relay.Stats.Forwarded);
        Assert.Equal(500, Forwarded().Count);
        Assert.Empty(relay.Stats.DroppedByReason);
        Assert.True(relay.Stats.RateWaits >= 2, $"{relay.Stats.RateWaits} batches waited: {relay.Stats}");
    }

    [Fact]
    public async Task A_relay_held_back_by_the_rate_limit_stops_when_disposed_and_loses_nothing_silently()
    {
        var relay = Relay(RelayBounds.Default with { MaxSpansPerSecond = 1 });
        await relay.ForwardAsync(Batch(GoodSpan()));
        using var stop = new CancellationTokenSource();
        var held = relay.ForwardAsync(Batch(Enumerable.Range(0, 50).Select(_ => GoodSpan()).ToArray()), stop.Token);
        stop.Cancel();
        await held; // returns rather than waiting out fifty seconds of tokens
        await relay.DisposeAsync();
        // Stopping lets the batch through to the sink (which takes it or counts it dropped).
        Assert.Equal(51, relay.Stats.Received);
        Assert.Equal(51, relay.Stats.Forwarded);
        Assert.Equal(51, Forwarded().Count);
    }

    [Fact]
    public async Task Empty_and_odd_batches_do_no_harm_and_the_guests_drop_count_is_taken_as_reported()
    {
        await using var relay = Relay();
        await relay.ForwardAsync(new SpanBatch());
        await relay.ForwardAsync(new SpanBatch { ScopeSpans = { new ScopeSpans() } });
        await relay.ForwardAsync(new SpanBatch { ScopeSpans = { new ScopeSpans { Spans = { new Span() } } }, Stats = new BufferStats { SpansDropped = 42 } });
        Assert.Empty(Forwarded());
        Assert.Equal(1, relay.Stats.Received);
        Assert.Equal(1, relay.Stats.DroppedByReason["bad trace id"]);
        Assert.Equal(42, relay.Stats.GuestDroppedSpans);
        // Every span received is either forwarded or counted dropped.
        var noId = GoodSpan("x");
        noId.SpanId = ByteString.Empty;
        await relay.ForwardAsync(Batch(GoodSpan(), noId));
        Assert.Equal(relay.Stats.Received, relay.Stats.Forwarded + relay.Stats.DroppedByHost);
    }
}
