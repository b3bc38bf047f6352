using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// Checks one guest span against the <see cref="RelayBounds"/>: drops what cannot be trusted at
/// all (bad ids, impossible times) and cuts what is merely too large, counting both. A workload's
/// resource and log records pass the same checks, so nothing from the guest escapes the bounds.
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
        cut += TrimAttributes(span.Attributes, bounds.MaxAttributesPerSpan, out var droppedAttributes);
        span.DroppedAttributesCount += droppedAttributes;
        var droppedEvents = Shorten(span.Events, bounds.MaxEventsPerSpan);
        span.DroppedEventsCount += (uint)droppedEvents;
        cut += droppedEvents;
        foreach (var e in span.Events)
        {
            if (e.Name.Length > bounds.MaxNameLength) { e.Name = e.Name[..bounds.MaxNameLength]; cut++; }
            cut += TrimAttributes(e.Attributes, bounds.MaxAttributesPerEvent, out var d);
            e.DroppedAttributesCount += d;
        }
        var droppedLinks = Shorten(span.Links, bounds.MaxLinksPerSpan);
        for (var i = span.Links.Count - 1; i >= 0; i--)
        {
            // A link's ids are as untrusted as the span's own: ids of the wrong size point nowhere (and could be any size).
            if (span.Links[i].TraceId.Length == 16 && span.Links[i].SpanId.Length == 8) continue;
            span.Links.RemoveAt(i);
            droppedLinks++;
        }
        span.DroppedLinksCount += (uint)droppedLinks;
        cut += droppedLinks;
        foreach (var l in span.Links)
        {
            if (l.TraceState.Length > 512) { l.TraceState = ""; cut++; }
            cut += TrimAttributes(l.Attributes, bounds.MaxAttributesPerLink, out var d);
            l.DroppedAttributesCount += d;
        }
        if (span.Status is { Message.Length: > 1024 } status) { status.Message = status.Message[..1024]; cut++; }
        stats.AddTruncated(cut);
        return null;
    }

    /// <summary>Cuts a workload's resource to the bounds in place: as many attributes as a span may have, each bounded alike.</summary>
    public void CheckResource(OtlpResource resource)
    {
        var cut = TrimAttributes(resource.Attributes, bounds.MaxResourceAttributes, out var dropped);
        resource.DroppedAttributesCount += dropped;
        stats.AddTruncated(cut);
    }

    /// <summary>Returns the reason to drop a workload's log record, or null after cutting it to size in place.</summary>
    public string? CheckLogRecord(LogRecord record)
    {
        if (record.TraceId.Length is not (0 or 16)) return "bad trace id";
        if (record.SpanId.Length is not (0 or 8)) return "bad span id";
        if (record.TimeUnixNano == 0 && record.ObservedTimeUnixNano == 0) return "bad timestamps";
        long cut = 0;
        if (record.SeverityText.Length > 64) { record.SeverityText = record.SeverityText[..64]; cut++; }
        if (record.EventName.Length > bounds.MaxNameLength) { record.EventName = record.EventName[..bounds.MaxNameLength]; cut++; }
        cut += TrimValue(record.Body, depth: 0);
        cut += TrimAttributes(record.Attributes, bounds.MaxAttributesPerSpan, out var dropped);
        record.DroppedAttributesCount += dropped;
        stats.AddTruncated(cut);
        return null;
    }

    private long TrimAttributes(Google.Protobuf.Collections.RepeatedField<KeyValue> attributes, int max, out uint dropped)
    {
        dropped = (uint)Shorten(attributes, max);
        long cut = dropped;
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
            case AnyValue.ValueOneofCase.StringValueStrindex:
                // An index into a string table the guest's spans do not carry: meaningless here.
                value.StringValue = "(string table reference dropped)";
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
                    cut += Shorten(values, bounds.MaxArrayValues);
                    foreach (var v in values) cut += TrimValue(v, depth + 1);
                }
                else
                {
                    var values = value.KvlistValue.Values;
                    cut += Shorten(values, bounds.MaxArrayValues);
                    foreach (var kv in values) cut += TrimValue(kv.Value, depth + 1);
                }
                return cut;
            default:
                return 0;
        }
    }

    /// <summary>Removes items past <paramref name="max"/> from the end; returns how many went.</summary>
    private static int Shorten<T>(Google.Protobuf.Collections.RepeatedField<T> list, int max)
    {
        var extra = Math.Max(0, list.Count - max);
        for (var i = 0; i < extra; i++) list.RemoveAt(list.Count - 1);
        return extra;
    }

    private static bool IsZero(ByteString bytes)
    {
        foreach (var b in bytes.Span) if (b != 0) return false;
        return true;
    }
}
