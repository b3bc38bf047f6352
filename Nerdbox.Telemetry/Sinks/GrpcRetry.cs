using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Which gRPC failures the OTLP spec retries, and the pause the server asked for: <c>google.rpc.RetryInfo</c>
/// in <c>grpc-status-details-bin</c>, else <c>grpc-retry-pushback-ms</c>.
/// </summary>
internal static class GrpcRetry
{
    public const string StatusDetailsTrailer = "grpc-status-details-bin";
    public const string PushbackTrailer = "grpc-retry-pushback-ms";
    public const string RetryInfoType = "google.rpc.RetryInfo";

    public static RetryVerdict Verdict(RpcException e)
    {
        // A status the client made up (connection refused, reset) carries the exception behind it:
        // nothing answered, so there is nothing to retry soon; the sink's outage handling covers it.
        if (e.Status.DebugException is not null) return RetryVerdict.No;
        var delay = ServerDelay(e.Trailers);
        return e.StatusCode switch
        {
            StatusCode.Cancelled or StatusCode.DeadlineExceeded or StatusCode.Aborted or StatusCode.OutOfRange
                or StatusCode.Unavailable or StatusCode.DataLoss => RetryVerdict.Yes(delay),
            // The spec retries RESOURCE_EXHAUSTED only when the server says it can recover.
            StatusCode.ResourceExhausted when delay is not null => RetryVerdict.Yes(delay),
            _ => RetryVerdict.No,
        };
    }

    private static TimeSpan? ServerDelay(Metadata? trailers)
    {
        if (trailers is null) return null;
        try
        {
            if (trailers.GetValueBytes(StatusDetailsTrailer) is { } details && RetryInfoDelay(details) is { } delay) return delay;
        }
        catch (InvalidProtocolBufferException)
        {
            // Unreadable details: fall back to the pushback trailer or our own back-off.
        }
        return trailers.GetValue(PushbackTrailer) is { } ms && long.TryParse(ms, out var n) && n >= 0 ? TimeSpan.FromMilliseconds(n) : null;
    }

    /// <summary>The retry delay in a serialized <c>google.rpc.Status</c> (field 3: repeated Any details), if it has a RetryInfo.</summary>
    internal static TimeSpan? RetryInfoDelay(byte[] status)
    {
        var input = new CodedInputStream(status);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 3 || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
            {
                input.SkipLastField();
                continue;
            }
            var any = Any.Parser.ParseFrom(input.ReadBytes());
            if (!any.TypeUrl.EndsWith("/" + RetryInfoType, StringComparison.Ordinal)) continue;
            var info = new CodedInputStream(any.Value.ToByteArray());
            while ((tag = info.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == 1 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                    return Duration.Parser.ParseFrom(info.ReadBytes()).ToTimeSpan();
                info.SkipLastField();
            }
        }
        return null;
    }
}
