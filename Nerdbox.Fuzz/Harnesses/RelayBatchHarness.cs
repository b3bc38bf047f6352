using Google.Protobuf;
using Grpc.Net.Client;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Relay;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Nerdbox.Fuzz.Harnesses.BrokenPromiseException;

namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// A message of the guest's span stream (<see cref="SpanBatch"/> as protobuf bytes), decoded as the
/// gRPC client decodes it and handed to <see cref="GuestSpanRelay.Forward"/>. Bad bytes may only raise
/// <see cref="InvalidProtocolBufferException"/>; what the relay forwards must keep every <see cref="RelayBounds"/>,
/// and every span received must be forwarded or counted dropped.
/// </summary>
internal sealed class RelayBatchHarness : IFuzzHarness
{
    /// <summary>When the VM started; the seeds' spans lie just after it, so that they pass the time window.</summary>
    public static readonly DateTime VmStartedUtc = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly ClockEstimate Clock = new(OffsetNs: 1_500_000, UncertaintyNs: 20_000, VmStartedUtc, OffsetBeforeSetNs: 700_000_000, Probes: 8);

    // The relay is handed batches directly; the stream it could open is never asked for.
    private static readonly GrpcChannel Unused = GrpcChannel.ForAddress("http://127.0.0.1:9");

    private static readonly Dictionary<string, string> Resource = new() { ["service.instance.id"] = "fuzz" };
    private static readonly Dictionary<string, string> WorkloadIdentity = new() { ["nerdbox.vm.id"] = "fuzz" };

    /// <summary>The attributes the relay adds to every span it forwards (the clock offset and its uncertainty).</summary>
    private const int RelayAttributes = 2;

    public string Name => "relay-batch";
    public string Input => "a guest span stream message (nerdbox.services.traces.v1.SpanBatch, protobuf)";

    public void Run(byte[] input)
    {
        SpanBatch batch;
        try
        {
            batch = SpanBatch.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException e) when (e.Message.Length > 0)
        {
            return;
        }
        // The agent's spans and the workloads' alike: both are counted in the relay's totals.
        var spansIn = batch.ScopeSpans.Sum(s => (long)s.Spans.Count)
            + batch.WorkloadSpans.Sum(w => w.ResourceSpans?.ScopeSpans.Sum(s => (long)s.Spans.Count) ?? 0);
        var sink = new InMemorySpanSink();
        var bounds = RelayBounds.Default;
        var relay = new GuestSpanRelay(new Traces.TracesClient(Unused), Clock, sink, bounds, VmStartedUtc, Resource, WorkloadIdentity);
        relay.ForwardAsync(batch).GetAwaiter().GetResult();
        Check(spansIn, relay.Stats, sink.Snapshot(), bounds);
        relay.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static void Check(long spansIn, RelayStats stats, IReadOnlyList<ResourceSpans> submitted, RelayBounds b)
    {
        var spansOut = submitted.Sum(rs => rs.ScopeSpans.Sum(s => (long)s.Spans.Count));
        Require(stats.Received == spansIn && stats.Forwarded == spansOut && spansOut + stats.DroppedByHost == spansIn,
            () => $"{spansIn} spans in, {spansOut} out, but the stats say {stats}");
        foreach (var rs in submitted.Where(rs => rs.Resource.Attributes.Any(a => a.Key == "container.id")))
        {
            // A workload's resource: bounded, its own service name, and the host's keys once each, with the host's values.
            var attributes = rs.Resource.Attributes;
            Require(attributes.Count <= b.MaxResourceAttributes + 2 + WorkloadIdentity.Count, () => $"{attributes.Count} attributes on a workload's resource");
            Require(attributes.Count(a => a.Key == "container.id") == 1 && attributes.Count(a => a.Key == "nerdbox.vm.id" && a.Value.StringValue == "fuzz") == 1,
                () => "a workload's resource without exactly one container.id and the host's nerdbox.vm.id");
            Require(attributes.Count(a => a.Key == "service.name" && a.Value.StringValue.Length > 0) == 1, () => "a workload's resource without one service.name");
            CheckAttributes(attributes, attributes.Count, b, "resource");
        }
        foreach (var scope in submitted.SelectMany(rs => rs.ScopeSpans))
        {
            Require(scope.Scope.Name.Length <= b.MaxScopeNameLength, () => $"scope name of {scope.Scope.Name.Length} chars");
            foreach (var span in scope.Spans) CheckSpan(span, b);
        }
    }

    private static void CheckSpan(Span span, RelayBounds b)
    {
        Require(span.TraceId.Length == 16 && span.SpanId.Length == 8 && span.ParentSpanId.Length is 0 or 8, () => "span ids of bad length forwarded");
        Require(span.EndTimeUnixNano >= span.StartTimeUnixNano, () => "span ends before it starts");
        Require(span.Name.Length <= b.MaxNameLength, () => $"span name of {span.Name.Length} chars");
        Require(span.TraceState.Length <= 512, () => $"trace state of {span.TraceState.Length} chars");
        Require(span.Status is null || span.Status.Message.Length <= 1024, () => "status message too long");
        CheckAttributes(span.Attributes, b.MaxAttributesPerSpan + RelayAttributes, b, "span");
        Require(span.Events.Count <= b.MaxEventsPerSpan, () => $"{span.Events.Count} events");
        foreach (var e in span.Events)
        {
            Require(e.Name.Length <= b.MaxNameLength, () => $"event name of {e.Name.Length} chars");
            CheckAttributes(e.Attributes, b.MaxAttributesPerEvent, b, "event");
        }
        Require(span.Links.Count <= b.MaxLinksPerSpan, () => $"{span.Links.Count} links");
        foreach (var l in span.Links)
        {
            Require(l.TraceId.Length == 16 && l.SpanId.Length == 8, () => $"link ids of {l.TraceId.Length} and {l.SpanId.Length} bytes");
            Require(l.TraceState.Length <= 512, () => $"link trace state of {l.TraceState.Length} chars");
            CheckAttributes(l.Attributes, b.MaxAttributesPerLink, b, "link");
        }
    }

    private static void CheckAttributes(IReadOnlyCollection<KeyValue> attributes, int max, RelayBounds b, string owner)
    {
        Require(attributes.Count <= max, () => $"{attributes.Count} attributes on a {owner}");
        foreach (var kv in attributes)
        {
            Require(kv.Key.Length is > 0 && kv.Key.Length <= b.MaxAttributeKeyLength, () => $"{owner} attribute key of {kv.Key.Length} chars");
            CheckValue(kv.Value, b, depth: 0);
        }
    }

    private static void CheckValue(AnyValue? v, RelayBounds b, int depth)
    {
        if (v is null) return;
        Require(depth <= 2, () => $"attribute value nested {depth} deep");
        switch (v.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                Require(v.StringValue.Length <= b.MaxAttributeValueLength, () => $"string value of {v.StringValue.Length} chars");
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                Require(v.BytesValue.Length <= b.MaxAttributeValueLength, () => $"bytes value of {v.BytesValue.Length} bytes");
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                Require(v.ArrayValue.Values.Count <= b.MaxArrayValues, () => $"array of {v.ArrayValue.Values.Count} values");
                foreach (var x in v.ArrayValue.Values) CheckValue(x, b, depth + 1);
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                Require(v.KvlistValue.Values.Count <= b.MaxArrayValues, () => $"key-value list of {v.KvlistValue.Values.Count} entries");
                foreach (var kv in v.KvlistValue.Values)
                {
                    Require(kv.Key.Length <= b.MaxAttributeKeyLength, () => $"key-value list key of {kv.Key.Length} chars");
                    CheckValue(kv.Value, b, depth + 1);
                }
                break;
        }
    }
}
