using System.Text.Json;
using Google.Protobuf;
using Nerdbox.Api.Otlp;
using Nerdbox.GuestAgent.Tracing;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>The OTLP signals a workload may post; only traces and logs are relayed.</summary>
internal enum OtlpSignal
{
    Traces,
    Logs,
    Metrics,
}

/// <summary>Why a request was refused whole; each transport answers it its own way (HTTP status, gRPC status).</summary>
internal enum OtlpRefusal
{
    None,
    Malformed,
    TooLarge,
    UnsupportedMediaType,
    NotRelayed,
    NotServed,
    Busy,
}

/// <summary>
/// One export request from a container, whichever transport it came by: decoded (protobuf or OTLP/JSON),
/// handed to the workloads' share of the buffer, and answered (OTLP partial success for what was refused
/// or dropped). Requests refused whole are counted against the container.
/// </summary>
internal static class OtlpExport
{
    /// <summary>The largest request body taken, after decompression.</summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;

    public readonly record struct Answer(OtlpRefusal Refusal, string Message, OtlpSignal Signal, WorkloadShare.Outcome Outcome)
    {
        public static Answer Refused(OtlpRefusal refusal, string message) => new(refusal, message, default, default);
    }

    public static Answer Export(string containerId, OtlpSignal signal, ReadOnlySpan<byte> body, bool json)
    {
        var share = GuestTracing.Buffer.Workloads;
        try
        {
            return signal switch
            {
                OtlpSignal.Traces => Accepted(signal, share.AddSpans(containerId, json ? OtlpJson.ParseTraceExport(body) : ExportTraceServiceRequest.Parser.ParseFrom(body))),
                OtlpSignal.Logs => Accepted(signal, share.AddLogs(containerId, json ? OtlpJson.ParseLogsExport(body) : ExportLogsServiceRequest.Parser.ParseFrom(body))),
                _ => Refuse(containerId, OtlpRefusal.NotRelayed, NotRelayedMessage),
            };
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or OtlpJsonException)
        {
            return Refuse(containerId, OtlpRefusal.Malformed, $"not an OTLP {signal.ToString().ToLowerInvariant()} export request ({(json ? "JSON" : "protobuf")}): {e.Message}");
        }
    }

    public const string NotRelayedMessage = "metrics are not relayed out of the VM; set OTEL_METRICS_EXPORTER=none";
    public static readonly string BusyMessage = $"more than {ContainerEndpoint.MaxExportsInFlight} export requests at once from this container; retry later";
    public const string NotServedMessage = "not served here: this endpoint takes only OTLP trace and logs exports";

    /// <summary>A request refused whole, counted against the container.</summary>
    public static Answer Refuse(string containerId, OtlpRefusal refusal, string message)
    {
        GuestTracing.Buffer.Workloads.RejectRequest(containerId);
        return Answer.Refused(refusal, message);
    }

    private static Answer Accepted(OtlpSignal signal, WorkloadShare.Outcome outcome) => new(OtlpRefusal.None, "", signal, outcome);

    /// <summary>The export response in protobuf: empty, or a partial success naming what was not kept.</summary>
    public static IMessage Response(Answer answer) => answer.Signal == OtlpSignal.Logs
        ? new ExportLogsServiceResponse
        {
            PartialSuccess = answer.Outcome.NotKept > 0
                ? new ExportLogsPartialSuccess { RejectedLogRecords = answer.Outcome.NotKept, ErrorMessage = answer.Outcome.Message }
                : null,
        }
        : new ExportTraceServiceResponse
        {
            PartialSuccess = answer.Outcome.NotKept > 0
                ? new ExportTracePartialSuccess { RejectedSpans = answer.Outcome.NotKept, ErrorMessage = answer.Outcome.Message }
                : null,
        };

    /// <summary>The export response in OTLP/JSON (64-bit counts as strings, as the protobuf JSON mapping has them).</summary>
    public static byte[] JsonResponse(Answer answer)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            if (answer.Outcome.NotKept > 0)
            {
                w.WriteStartObject("partialSuccess");
                w.WriteString(answer.Signal == OtlpSignal.Logs ? "rejectedLogRecords" : "rejectedSpans", answer.Outcome.NotKept.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteString("errorMessage", answer.Outcome.Message);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>
    /// An error answer's body, <c>google.rpc.Status</c> (code and message) in protobuf or JSON, as OTLP/HTTP
    /// answers failures. Written by hand: two fields do not need the googleapis protos.
    /// </summary>
    public static byte[] StatusBody(int grpcCode, string message, bool json)
    {
        if (json)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream))
            {
                w.WriteStartObject();
                w.WriteNumber("code", grpcCode);
                w.WriteString("message", message);
                w.WriteEndObject();
            }
            return stream.ToArray();
        }
        var size = CodedOutputStream.ComputeTagSize(1) + CodedOutputStream.ComputeInt32Size(grpcCode)
            + CodedOutputStream.ComputeTagSize(2) + CodedOutputStream.ComputeStringSize(message);
        var bytes = new byte[size];
        var output = new CodedOutputStream(bytes);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt32(grpcCode);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(message);
        output.CheckNoSpaceLeft();
        return bytes;
    }

    /// <summary>The gRPC status code each refusal maps to (OTLP/HTTP answers carry it in their Status body too).</summary>
    public static int GrpcCode(OtlpRefusal refusal) => refusal switch
    {
        OtlpRefusal.Malformed => 3, // INVALID_ARGUMENT
        OtlpRefusal.TooLarge => 8, // RESOURCE_EXHAUSTED
        OtlpRefusal.UnsupportedMediaType => 3,
        OtlpRefusal.NotRelayed or OtlpRefusal.NotServed => 12, // UNIMPLEMENTED
        OtlpRefusal.Busy => 14, // UNAVAILABLE: OTLP clients retry it
        _ => 0,
    };
}
