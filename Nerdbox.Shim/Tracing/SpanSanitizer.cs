using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Shim.Tracing;

/// <summary>
/// Checks one guest span against the <see cref="RelayBounds"/>: drops what cannot be trusted at
/// all (bad ids, impossible times) and cuts what is merely too large, counting both.
/// </summary>
internal sealed class SpanSanitizer(RelayBounds bounds, RelayStats stats)
{
    /// <summary>Returns the reason to drop the span, or null after cutting it to size in place.</summary>
    public string? Check(Span span)
    {
        if (span.TraceId.Length != 16 || IsZero(span.TraceId)) return "bad trace id";
        if (span.SpanId.Length != 8 || IsZero(span.SpanId)) return "bad span id";
        if (span.ParentSpanId.Length is not (0 or 8)) return "bad parent span id";
        if (span.StartTimeUnixNano == 0 || span.EndTimeUnixNano < span.StartTimeUnixNano) return "bad timestamps";
        if (span.EndTimeUnixNano - span.StartTimeUnixNano > (ulong)bounds.MaxDuration.Ticks * 100) return "too long";

        long cut = 0;
        if (span.Name.Length > bounds.MaxNameLength) { span.Name = span.Name[..bounds.MaxNameLength]; cut++; }
        if (span.TraceState.Length > 512) { span.TraceState = ""; cut++; }
        cut += TrimAttributes(span.Attributes, out var droppedAttributes);
        span.DroppedAttributesCount += droppedAttributes;
        if (span.Events.Count > bounds.MaxEventsPerSpan)
        {
            var extra = span.Events.Count - bounds.MaxEventsPerSpan;
            for (var i = 0; i < extra; i++) span.Events.RemoveAt(span.Events.Count - 1);
            span.DroppedEventsCount += (uint)extra;
            cut += extra;
        }
        foreach (var e in span.Events)
        {
            if (e.Name.Length > bounds.MaxNameLength) { e.Name = e.Name[..bounds.MaxNameLength]; cut++; }
            cut += TrimAttributes(e.Attributes, out var d);
            e.DroppedAttributesCount += d;
        }
        if (span.Links.Count > bounds.MaxLinksPerSpan)
        {
            var extra = span.Links.Count - bounds.MaxLinksPerSpan;
            for (var i = 0; i < extra; i++) span.Links.RemoveAt(span.Links.Count - 1);
            span.DroppedLinksCount += (uint)extra;
            cut += extra;
        }
        foreach (var l in span.Links)
        {
            cut += TrimAttributes(l.Attributes, out var d);
            l.DroppedAttributesCount += d;
        }
        if (span.Status is { Message.Length: > 1024 } status) { status.Message = status.Message[..1024]; cut++; }
        stats.AddTruncated(cut);
        return null;
    }

    private long TrimAttributes(Google.Protobuf.Collections.RepeatedField<KeyValue> attributes, out uint dropped)
    {
        long cut = 0;
        dropped = 0;
        while (attributes.Count > bounds.MaxAttributesPerSpan)
        {
            attributes.RemoveAt(attributes.Count - 1);
            dropped++;
            cut++;
        }
        for (var i = attributes.Count - 1; i >= 0; i--)
        {
            var kv = attributes[i];
            if (kv.Key.Length == 0 || kv.Key.Length > bounds.MaxAttributeKeyLength)
            {
                attributes.RemoveAt(i);
                dropped++;
                cut++;
                continue;
            }
            cut += TrimValue(kv.Value, depth: 0);
        }
        return cut;
    }

    private long TrimValue(AnyValue? value, int depth)
    {
        if (value is null) return 0;
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue when value.StringValue.Length > bounds.MaxAttributeValueLength:
                value.StringValue = value.StringValue[..bounds.MaxAttributeValueLength];
                return 1;
            case AnyValue.ValueOneofCase.BytesValue when value.BytesValue.Length > bounds.MaxAttributeValueLength:
                value.BytesValue = ByteString.CopyFrom(value.BytesValue.Span[..bounds.MaxAttributeValueLength]);
                return 1;
            case AnyValue.ValueOneofCase.ArrayValue:
            case AnyValue.ValueOneofCase.KvlistValue:
                if (depth >= 2)
                {
                    value.StringValue = "(nested value dropped)";
                    return 1;
                }
                long cut = 0;
                if (value.ValueCase == AnyValue.ValueOneofCase.ArrayValue)
                {
                    var values = value.ArrayValue.Values;
                    while (values.Count > bounds.MaxArrayValues) { values.RemoveAt(values.Count - 1); cut++; }
                    foreach (var v in values) cut += TrimValue(v, depth + 1);
                }
                else
                {
                    var values = value.KvlistValue.Values;
                    while (values.Count > bounds.MaxArrayValues) { values.RemoveAt(values.Count - 1); cut++; }
                    foreach (var kv in values) cut += TrimValue(kv.Value, depth + 1);
                }
                return cut;
            default:
                return 0;
        }
    }

    private static bool IsZero(ByteString bytes)
    {
        foreach (var b in bytes.Span) if (b != 0) return false;
        return true;
    }
}
