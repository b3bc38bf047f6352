using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Settings;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// The OpenTelemetry span limits of the host's environment applied to the guest's spans by a real relay:
/// a stricter limit than the relay's own bound cuts the guest's spans further and is counted as any cut is;
/// a looser one never lets more of the untrusted guest through.
/// </summary>
public sealed class RelaySpanLimitsTests : IDisposable
{
    private static readonly ClockEstimate Clock = new(0, 1000, DateTime.UtcNow.AddSeconds(-30), 1_200_000_000, 8);

    // Never called: nothing here subscribes to a stream.
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress("http://127.0.0.1:1");
    private readonly InMemorySpanSink _sink = new();

    public void Dispose() => _channel.Dispose();

    private static SpanLimits Limits(params (string Name, string Value)[] variables) =>
        SpanLimits.Parse(new ConfigurationBuilder()
            .AddInMemoryCollection(variables.Select(v => new KeyValuePair<string, string?>(v.Name, v.Value))).Build());

    private GuestSpanRelay Relay(RelayBounds bounds) =>
        new(new Traces.TracesClient(_channel), Clock, _sink, bounds, DateTime.UtcNow.AddSeconds(-20),
            new Dictionary<string, string> { ["service.instance.id"] = "vm-limits" });

    /// <summary>A span with 100 attributes of 1000 characters, 100 events and 100 links with 100 attributes each.</summary>
    private static Span LargeSpan()
    {
        var now = (ulong)(DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()),
            SpanId = ByteString.CopyFrom(Enumerable.Range(1, 8).Select(i => (byte)i).ToArray()),
            Name = "task.Create",
            StartTimeUnixNano = now - 5_000_000,
            EndTimeUnixNano = now - 4_000_000,
        };
        KeyValue[] Attributes(string prefix) =>
            Enumerable.Range(0, 100).Select(i => new KeyValue { Key = prefix + i, Value = new AnyValue { StringValue = new string('v', 1000) } }).ToArray();
        span.Attributes.Add(Attributes("a"));
        for (var i = 0; i < 100; i++)
        {
            span.Events.Add(new Span.Types.Event { Name = "e" + i, TimeUnixNano = span.StartTimeUnixNano, Attributes = { Attributes("ea") } });
            span.Links.Add(new Span.Types.Link { TraceId = span.TraceId, SpanId = span.SpanId, Attributes = { Attributes("la") } });
        }
        return span;
    }

    private async Task<(Span Span, GuestSpanRelay Relay)> ForwardOne(RelayBounds bounds)
    {
        var relay = Relay(bounds);
        var batch = new SpanBatch { ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "Nerdbox.GuestAgent" }, Spans = { LargeSpan() } } } };
        await relay.ForwardAsync(batch);
        return (Assert.Single(_sink.Snapshot().SelectMany(rs => rs.ScopeSpans).SelectMany(ss => ss.Spans)), relay);
    }

    [Fact]
    public async Task Stricter_environment_limits_cut_the_guests_spans_further_and_are_counted()
    {
        var limits = Limits(
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5"), ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "10"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "3"), ("OTEL_SPAN_LINK_COUNT_LIMIT", "2"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "4"), ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "1"));

        var (got, relay) = await ForwardOne(RelayBounds.Default.Within(limits));
        await using var _ = relay;

        // The guest's own five attributes, cut to ten characters; the host's two clock attributes come on top.
        var guestAttributes = got.Attributes.Where(a => !a.Key.StartsWith("nerdbox.clock.", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, guestAttributes.Count);
        Assert.All(guestAttributes, a => Assert.Equal(10, a.Value.StringValue.Length));
        Assert.Equal(95u, got.DroppedAttributesCount);
        Assert.Equal(3, got.Events.Count);
        Assert.Equal(97u, got.DroppedEventsCount);
        Assert.All(got.Events, e => Assert.Equal((4, 96u), (e.Attributes.Count, e.DroppedAttributesCount)));
        Assert.Equal(2, got.Links.Count);
        Assert.Equal(98u, got.DroppedLinksCount);
        Assert.All(got.Links, l => Assert.Equal((1, 99u), (l.Attributes.Count, l.DroppedAttributesCount)));
        Assert.Equal(1, relay.Stats.Forwarded);
        Assert.True(relay.Stats.TruncatedValues >= 95 + 5 + 97 + 98, $"{relay.Stats.TruncatedValues} cuts counted");
    }

    [Fact]
    public async Task Looser_environment_limits_leave_the_relays_own_bounds_in_force()
    {
        var limits = Limits(
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "100000"), ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100000"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "100000"), ("OTEL_SPAN_LINK_COUNT_LIMIT", "100000"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "100000"), ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "100000"));
        var bounds = RelayBounds.Default.Within(limits);
        Assert.Equal(RelayBounds.Default, bounds);

        var (got, relay) = await ForwardOne(bounds);
        await using var _ = relay;
        Assert.Equal(RelayBounds.Default.MaxAttributesPerSpan + 2, got.Attributes.Count);
        Assert.Equal(RelayBounds.Default.MaxEventsPerSpan, got.Events.Count);
        Assert.Equal(RelayBounds.Default.MaxLinksPerSpan, got.Links.Count);
    }

    [Fact]
    public void Only_the_limits_set_change_a_bound()
    {
        var bounds = RelayBounds.Default.Within(Limits(("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "50"), ("OTEL_SPAN_LINK_COUNT_LIMIT", "4")));
        Assert.Equal(RelayBounds.Default with { MaxAttributeValueLength = 50, MaxLinksPerSpan = 4 }, bounds);
        Assert.Equal(RelayBounds.Default, RelayBounds.Default.Within(SpanLimits.None));
    }
}
