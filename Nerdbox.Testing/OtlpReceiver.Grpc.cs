using Google.Protobuf;
using Grpc.Core;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Testing;

public sealed partial class OtlpReceiver
{
    /// <summary>The gRPC face: the collector's generated service base (from Nerdbox.Api's OTLP protos).</summary>
    private sealed class TraceServiceEndpoint(OtlpReceiver receiver) : TraceService.TraceServiceBase
    {
        public override async Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            var headers = context.RequestHeaders.Where(h => !h.IsBinary).GroupBy(h => h.Key)
                .ToDictionary(g => g.Key, g => g.Last().Value);
            // gRPC's own headers (grpc-encoding) are not in RequestHeaders; the HTTP/2 request has them.
            foreach (var (key, value) in context.GetHttpContext().Request.Headers)
                headers.TryAdd(key.ToLowerInvariant(), value.ToString());
            var (response, rejection) = await receiver.HandleAsync(request, headers, context.CancellationToken);
            if (response is not null) return response;
            rejection ??= Rejection.Default;
            var trailers = new Metadata();
            if (rejection.RetryAfter is { } after) trailers.Add("grpc-status-details-bin", RetryInfoStatus(rejection.GrpcStatus, after));
            throw new RpcException(new Grpc.Core.Status(rejection.GrpcStatus, "test receiver is rejecting requests"), trailers);
        }

        /// <summary>A <c>google.rpc.Status</c> whose one detail is a <c>google.rpc.RetryInfo</c>, written field by field.</summary>
        private static byte[] RetryInfoStatus(StatusCode code, TimeSpan delay)
        {
            var retryInfo = new MemoryStream();
            using (var o = new CodedOutputStream(retryInfo, leaveOpen: true))
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteMessage(Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(delay));
            }
            var any = new Google.Protobuf.WellKnownTypes.Any
            {
                TypeUrl = "type.googleapis.com/google.rpc.RetryInfo",
                Value = ByteString.CopyFrom(retryInfo.ToArray()),
            };
            var status = new MemoryStream();
            using (var o = new CodedOutputStream(status, leaveOpen: true))
            {
                o.WriteTag(1, WireFormat.WireType.Varint);
                o.WriteInt32((int)code);
                o.WriteTag(3, WireFormat.WireType.LengthDelimited);
                o.WriteMessage(any);
            }
            return status.ToArray();
        }
    }
}
