namespace Nerdbox.Telemetry.Otlp;

/// <summary>The two OTLP transports a remote sink speaks.</summary>
public enum OtlpProtocol
{
    /// <summary><c>grpc</c>: <c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c> over HTTP/2.</summary>
    Grpc,

    /// <summary><c>http/protobuf</c>: a protobuf body POSTed to the traces URL (usually <c>.../v1/traces</c>).</summary>
    HttpProtobuf,
}

/// <summary>How an export request's body is compressed (<c>OTEL_EXPORTER_OTLP_COMPRESSION</c>).</summary>
public enum OtlpCompression
{
    None,

    /// <summary>HTTP: a gzipped body with <c>Content-Encoding: gzip</c>; gRPC: the message compressed with gRPC's gzip.</summary>
    Gzip,
}

/// <summary>
/// One place spans are exported to. <paramref name="Endpoint"/> is final: for gRPC the server's
/// base address, for HTTP the full URL POSTed to. TLS follows the scheme (https = TLS), never a flag.
/// </summary>
public sealed record OtlpDestination(
    string Name,
    OtlpProtocol Protocol,
    Uri Endpoint,
    IReadOnlyDictionary<string, string> Headers,
    TimeSpan Timeout)
{
    /// <summary>The spec's default export timeout (<c>OTEL_EXPORTER_OTLP_TIMEOUT</c>, 10 s).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The spec's default is none.</summary>
    public OtlpCompression Compression { get; init; }

    public OtlpDestination(string name, OtlpProtocol protocol, Uri endpoint)
        : this(name, protocol, endpoint, new Dictionary<string, string>(), DefaultTimeout) { }

    /// <summary>The spelling used in OTEL_* variables and in logs.</summary>
    public static string ProtocolName(OtlpProtocol protocol) => protocol switch
    {
        OtlpProtocol.Grpc => "grpc",
        _ => "http/protobuf",
    };

    public override string ToString() => $"{Name} ({ProtocolName(Protocol)} {Endpoint})";
}
