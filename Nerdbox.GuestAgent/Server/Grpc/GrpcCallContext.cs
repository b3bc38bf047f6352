using Grpc.Core;
using Nerdbox.Http2;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>
/// What a service method sees of its call on the host channel: the method, the request's metadata, the deadline
/// and cancellation, and the trailers and status it may set.
/// </summary>
internal sealed class GrpcCallContext(Http2Stream stream, string method, Metadata requestHeaders, DateTime deadline, CancellationToken cancellation)
    : ServerCallContext
{
    private static readonly AuthContext NoAuth = new(null, new Dictionary<string, List<AuthProperty>>());

    public Http2Stream Stream => stream;

    protected override string MethodCore => method;
    protected override string HostCore => stream.Authority;
    protected override string PeerCore => "host-channel";
    protected override DateTime DeadlineCore => deadline;
    protected override Metadata RequestHeadersCore => requestHeaders;
    protected override CancellationToken CancellationTokenCore => cancellation;
    protected override Metadata ResponseTrailersCore { get; } = [];
    protected override Status StatusCore { get; set; } = Status.DefaultSuccess;
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore => NoAuth;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("the agent makes no outgoing gRPC calls");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        if (stream.HeadersSent) throw new InvalidOperationException("the response headers were sent already");
        return stream.SendHeadersAsync(200, [.. GrpcWire.ResponseHeaders, .. GrpcWire.Fields(responseHeaders)], cancellation);
    }

    /// <summary>
    /// The request's metadata: its fields less gRPC's reserved ones, with <c>-bin</c> values decoded from base64.
    /// A field that is not valid metadata is named in the exception.
    /// </summary>
    public static Metadata HeadersOf(Http2Stream request)
    {
        var metadata = new Metadata();
        foreach (var (name, value) in request.Fields)
        {
            if (name is "te" or "content-type" or "grpc-timeout" or "grpc-encoding" or "grpc-accept-encoding")
                continue;
            try
            {
                if (name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
                    metadata.Add(name, Convert.FromBase64String(PadBase64(value)));
                else
                    metadata.Add(name, value);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"request header '{name}' is not valid gRPC metadata: {e.Message}"));
            }
        }
        return metadata;
    }

    // gRPC allows unpadded base64 in binary headers.
    private static string PadBase64(string value) => (value.Length % 4) switch
    {
        2 => value + "==",
        3 => value + "=",
        _ => value,
    };
}
