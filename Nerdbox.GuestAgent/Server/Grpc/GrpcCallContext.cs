using Grpc.Core;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>
/// What a service method sees of its call on the agent's server: the method, the request's metadata, the deadline
/// and cancellation, and the trailers and status it may set.
/// </summary>
internal sealed class GrpcCallContext(HttpContext http, string method, Metadata requestHeaders, DateTime deadline, CancellationToken cancellation)
    : ServerCallContext
{
    private static readonly AuthContext NoAuth = new(null, new Dictionary<string, List<AuthProperty>>());

    public HttpContext Http => http;

    protected override string MethodCore => method;
    protected override string HostCore => http.Request.Host.Value ?? "";
    protected override string PeerCore => http.Connection.RemoteIpAddress?.ToString() ?? "host-channel";
    protected override DateTime DeadlineCore => deadline;
    protected override Metadata RequestHeadersCore => requestHeaders;
    protected override CancellationToken CancellationTokenCore => cancellation;
    protected override Metadata ResponseTrailersCore { get; } = [];
    protected override Status StatusCore { get; set; } = Status.DefaultSuccess;
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore => NoAuth;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("the agent makes no outgoing gRPC calls");

    protected override async Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        if (http.Response.HasStarted) throw new InvalidOperationException("the response headers were sent already");
        foreach (var entry in responseHeaders)
            http.Response.Headers.Append(entry.Key, entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes) : entry.Value);
        http.Response.ContentType = GrpcWire.ContentType;
        await http.Response.StartAsync(cancellation);
        await http.Response.BodyWriter.FlushAsync(cancellation);
    }

    /// <summary>
    /// The request's metadata: its headers less HTTP/2's own and gRPC's reserved ones, with <c>-bin</c> values
    /// decoded from base64. A header that is not valid metadata is named in the exception.
    /// </summary>
    public static Metadata HeadersOf(HttpRequest request)
    {
        var metadata = new Metadata();
        foreach (var (name, values) in request.Headers)
        {
            if (name.StartsWith(':') || name is "te" or "content-type" or "grpc-timeout" or "grpc-encoding" or "grpc-accept-encoding")
                continue;
            foreach (var value in values)
            {
                try
                {
                    if (name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.Ordinal))
                        metadata.Add(name, Convert.FromBase64String(PadBase64(value ?? "")));
                    else
                        metadata.Add(name, value ?? "");
                }
                catch (Exception e) when (e is FormatException or ArgumentException)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"request header '{name}' is not valid gRPC metadata: {e.Message}"));
                }
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
