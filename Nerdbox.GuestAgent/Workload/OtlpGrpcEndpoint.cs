using Google.Protobuf;
using Nerdbox.GuestAgent.Server;
using Nerdbox.GuestAgent.Server.Grpc;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// OTLP/gRPC's unary export calls (traces and logs; metrics answered UNIMPLEMENTED with why), framed by hand
/// rather than through the agent's gRPC services, so that the bound, the decoding and every failure's status
/// are this endpoint's own: a message over <see cref="OtlpExport.MaxRequestBytes"/> is RESOURCE_EXHAUSTED,
/// one that does not decode is INVALID_ARGUMENT.
/// </summary>
internal static class OtlpGrpcEndpoint
{
    public const string TracePath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    public const string LogsPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    public const string MetricsPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    public static RequestDelegate Handler(OtlpSignal signal) => http => HandleAsync(http, signal);

    private static async Task HandleAsync(HttpContext http, OtlpSignal signal)
    {
        var containerId = WorkloadConnection.Of(http)!.ContainerId;
        var answer = await ReadAndExportAsync(http, containerId, signal);
        if (answer.Refusal != OtlpRefusal.None)
        {
            await AnswerStatusAsync(http, OtlpExport.GrpcCode(answer.Refusal), answer.Message);
            return;
        }
        http.Response.ContentType = GrpcWire.ContentType;
        await http.Response.Body.WriteAsync(GrpcWire.Frame(OtlpExport.Response(answer).ToByteArray()));
        GrpcWire.SetStatus(http, 0, "");
    }

    /// <summary>A gRPC status in trailers (no message), as any gRPC server ends a failed call.</summary>
    public static Task AnswerStatusAsync(HttpContext http, int code, string message)
    {
        GrpcWire.SetStatus(http, code, message);
        return http.Response.CompleteAsync();
    }

    private static async Task<OtlpExport.Answer> ReadAndExportAsync(HttpContext http, string containerId, OtlpSignal signal)
    {
        if (signal == OtlpSignal.Metrics) return OtlpExport.Refuse(containerId, OtlpRefusal.NotRelayed, OtlpExport.NotRelayedMessage);
        const int max = OtlpExport.MaxRequestBytes;
        var tooLarge = $"the export message is larger than {max} bytes";
        var body = await GrpcWire.ReadSingleMessageAsync(http.Request, max, http.RequestAborted);
        switch (body.Fault)
        {
            case GrpcWire.BodyFault.TooLarge: return OtlpExport.Refuse(containerId, OtlpRefusal.TooLarge, tooLarge);
            case GrpcWire.BodyFault.NoMessage: return OtlpExport.Refuse(containerId, OtlpRefusal.Malformed, "no gRPC message in the call");
            case GrpcWire.BodyFault.NotOneMessage: return OtlpExport.Refuse(containerId, OtlpRefusal.Malformed, "an export call carries exactly one gRPC message");
        }
        var message = body.Message;
        if (body.Flag == 1)
        {
            var encoding = http.Request.Headers["grpc-encoding"].ToString();
            if (!encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
                return OtlpExport.Refuse(containerId, OtlpRefusal.UnsupportedMediaType, $"grpc-encoding '{encoding}' is not supported (gzip is)");
            try
            {
                message = BoundedBody.Gunzip(message, max);
            }
            catch (InvalidDataException e)
            {
                return OtlpExport.Refuse(containerId, OtlpRefusal.Malformed, "the message is not gzip: " + e.Message);
            }
            if (message is null) return OtlpExport.Refuse(containerId, OtlpRefusal.TooLarge, tooLarge + " once decompressed");
        }
        else if (body.Flag != 0)
        {
            return OtlpExport.Refuse(containerId, OtlpRefusal.Malformed, $"bad gRPC message flag {body.Flag}");
        }
        return OtlpExport.Export(containerId, signal, message, json: false);
    }
}
