using System.Diagnostics;
using Google.Protobuf;
using Nerdbox.Api.Contract;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// Spans of guest work that the host makes from what the guest reported afterwards (its boot-clock
/// timeline, its kernel log), placed on the host's clock. They are OTLP data, not Activities, because
/// they belong to the guest's service and are sent with the guest's spans.
/// </summary>
internal sealed class DerivedGuestSpans(ActivityTraceId traceId, TimeSpan uncertainty, string derivedFrom)
{
    private readonly List<Span> _spans = [];

    public IReadOnlyList<Span> Spans => _spans;

    /// <summary>Adds a span under <paramref name="parent"/>; returns its id, to parent others.</summary>
    public ActivitySpanId Add(string name, ActivitySpanId parent, DateTime start, DateTime end, IReadOnlyDictionary<string, object>? attributes = null)
    {
        var id = ActivitySpanId.CreateRandom();
        Span<byte> bytes = stackalloc byte[16];
        traceId.CopyTo(bytes);
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(bytes),
            Name = name,
            Kind = Span.Types.SpanKind.Internal,
            StartTimeUnixNano = ActivityToOtlp.ToUnixNano(start),
            EndTimeUnixNano = ActivityToOtlp.ToUnixNano(end < start ? start : end),
        };
        id.CopyTo(bytes[..8]);
        span.SpanId = ByteString.CopyFrom(bytes[..8]);
        parent.CopyTo(bytes[..8]);
        span.ParentSpanId = ByteString.CopyFrom(bytes[..8]);
        span.Attributes.Add(new KeyValue { Key = "nerdbox.derived_from", Value = new AnyValue { StringValue = derivedFrom } });
        span.Attributes.Add(new KeyValue { Key = "nerdbox.clock.uncertainty_ns", Value = new AnyValue { IntValue = uncertainty.Ticks * 100 } });
        foreach (var (key, value) in attributes ?? new Dictionary<string, object>())
            if (ActivityToOtlp.ToAnyValue(value) is { } v) span.Attributes.Add(new KeyValue { Key = key, Value = v });
        _spans.Add(span);
        return id;
    }
}
