using Grpc.Core;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Testing;

/// <summary>How the receiver answers export requests.</summary>
public enum ReceiverMode
{
    /// <summary>Stores the spans and answers OK.</summary>
    Accept,

    /// <summary>Answers gRPC UNAVAILABLE / HTTP 503, storing nothing.</summary>
    Reject,

    /// <summary>Holds each request until the mode changes (or the client gives up).</summary>
    Stall,
}

/// <summary>How a rejected request is answered: the HTTP status, the gRPC status, and the pause asked for (Retry-After / RetryInfo).</summary>
public sealed record Rejection(int HttpStatus = 503, StatusCode GrpcStatus = StatusCode.Unavailable, TimeSpan? RetryAfter = null, bool RetryAfterAsDate = false)
{
    public static readonly Rejection Default = new();
}

/// <summary>A logs or metrics export that arrived over OTLP/HTTP (read at the protocol level: the body is kept as sent, decompressed).</summary>
public sealed record SignalRequest(string Signal, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>One received span with the resource and scope it came in.</summary>
public sealed record ReceivedSpan(string ServiceName, string ScopeName, Span Span, OtlpResource Resource);
