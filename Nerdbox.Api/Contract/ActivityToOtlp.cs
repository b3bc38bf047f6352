using System.Diagnostics;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpSpan = OpenTelemetry.Proto.Trace.V1.Span;
using OtlpStatus = OpenTelemetry.Proto.Trace.V1.Status;

namespace Nerdbox.Api.Contract;

/// <summary>
/// Turns a finished <see cref="Activity"/> into an OTLP span, ids and all. Used by the guest
/// (its spans travel to the host in this shape) and by the shim (its own spans join the same sinks).
/// </summary>
public static class ActivityToOtlp
{
    private const long UnixEpochTicks = 621355968000000000L;

    public static ulong ToUnixNano(DateTime utc) => (ulong)(utc.Ticks - UnixEpochTicks) * 100UL;

    public static OtlpSpan Convert(Activity activity)
    {
        Span<byte> traceId = stackalloc byte[16];
        Span<byte> spanId = stackalloc byte[8];
        activity.TraceId.CopyTo(traceId);
        activity.SpanId.CopyTo(spanId);
        var start = ToUnixNano(activity.StartTimeUtc);
        var span = new OtlpSpan
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(spanId),
            Name = activity.DisplayName,
            Kind = (OtlpSpan.Types.SpanKind)((int)activity.Kind + 1),
            StartTimeUnixNano = start,
            EndTimeUnixNano = start + (ulong)activity.Duration.Ticks * 100UL,
            Flags = (uint)activity.ActivityTraceFlags | (uint)SpanFlags.ContextHasIsRemoteMask,
        };
        if (activity.ParentSpanId != default)
        {
            activity.ParentSpanId.CopyTo(spanId);
            span.ParentSpanId = ByteString.CopyFrom(spanId);
            if (activity.HasRemoteParent) span.Flags |= (uint)SpanFlags.ContextIsRemoteMask;
        }
        if (activity.TraceStateString is { Length: > 0 } state) span.TraceState = state;
        foreach (var tag in activity.TagObjects)
            if (ToAnyValue(tag.Value) is { } value) span.Attributes.Add(new KeyValue { Key = tag.Key, Value = value });
        foreach (var e in activity.Events)
        {
            var ev = new OtlpSpan.Types.Event { Name = e.Name, TimeUnixNano = ToUnixNano(e.Timestamp.UtcDateTime) };
            foreach (var tag in e.Tags)
                if (ToAnyValue(tag.Value) is { } value) ev.Attributes.Add(new KeyValue { Key = tag.Key, Value = value });
            span.Events.Add(ev);
        }
        if (activity.Status != ActivityStatusCode.Unset)
        {
            span.Status = new OtlpStatus
            {
                Code = activity.Status == ActivityStatusCode.Error ? OtlpStatus.Types.StatusCode.Error : OtlpStatus.Types.StatusCode.Ok,
                Message = activity.StatusDescription ?? "",
            };
        }
        return span;
    }

    public static AnyValue? ToAnyValue(object? value) => value switch
    {
        null => null,
        string s => new AnyValue { StringValue = s },
        bool b => new AnyValue { BoolValue = b },
        int i => new AnyValue { IntValue = i },
        uint u => new AnyValue { IntValue = u },
        long l => new AnyValue { IntValue = l },
        ulong ul => new AnyValue { IntValue = unchecked((long)ul) },
        short sh => new AnyValue { IntValue = sh },
        double d => new AnyValue { DoubleValue = d },
        float f => new AnyValue { DoubleValue = f },
        string[] arr => new AnyValue { ArrayValue = new ArrayValue { Values = { arr.Select(x => new AnyValue { StringValue = x }) } } },
        _ => new AnyValue { StringValue = value.ToString() ?? "" },
    };
}
