using System.Net;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>Which OTLP transport a workload endpoint's listener speaks.</summary>
internal enum WorkloadProtocol
{
    /// <summary>OTLP/gRPC: HTTP/2 cleartext, port 4317.</summary>
    Grpc,

    /// <summary>OTLP/HTTP: HTTP/1.1, protobuf or JSON bodies, port 4318.</summary>
    Http,
}

/// <summary>
/// What Kestrel binds for workload endpoints: one per protocol, whose listener yields the connections of
/// every container's sockets of that protocol (<see cref="WorkloadListener"/>).
/// </summary>
internal sealed class WorkloadEndPoint(WorkloadProtocol protocol) : EndPoint
{
    public WorkloadProtocol Protocol { get; } = protocol;
    public override string ToString() => "workload-otlp-" + Protocol.ToString().ToLowerInvariant();
}
