using Nerdbox.GuestAgent.Init;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// The containers' OTLP endpoints in the agent's one server: the routes, and the gate that keeps the two kinds of
/// connection apart (a workload connection reaches only the OTLP routes of its own protocol; the host channel, whose
/// calls go to the agent's gRPC methods, never reaches them).
/// </summary>
internal static class WorkloadTelemetry
{
    private static readonly Dictionary<string, (WorkloadProtocol Protocol, RequestDelegate Serve)> Routes = new(StringComparer.OrdinalIgnoreCase)
    {
        [OtlpGrpcEndpoint.TracePath] = (WorkloadProtocol.Grpc, OtlpGrpcEndpoint.Handler(OtlpSignal.Traces)),
        [OtlpGrpcEndpoint.LogsPath] = (WorkloadProtocol.Grpc, OtlpGrpcEndpoint.Handler(OtlpSignal.Logs)),
        [OtlpGrpcEndpoint.MetricsPath] = (WorkloadProtocol.Grpc, OtlpGrpcEndpoint.Handler(OtlpSignal.Metrics)),
        ["/v1/traces"] = (WorkloadProtocol.Http, OtlpHttpEndpoint.Handler(OtlpSignal.Traces)),
        ["/v1/logs"] = (WorkloadProtocol.Http, OtlpHttpEndpoint.Handler(OtlpSignal.Logs)),
        ["/v1/metrics"] = (WorkloadProtocol.Http, OtlpHttpEndpoint.Handler(OtlpSignal.Metrics)),
    };

    /// <summary>The endpoints the options name (host mode), opened before the server starts.</summary>
    public static WorkloadEndpoints Open(AgentOptions options)
    {
        var endpoints = new WorkloadEndpoints();
        foreach (var (id, grpcPort, httpPort) in options.WorkloadEndpoints)
        {
            var endpoint = endpoints.OpenOnLoopback(id, grpcPort, httpPort);
            AgentLog.Write($"workload endpoint {id}: grpc {endpoint.GrpcAddress} http {endpoint.HttpAddress}");
        }
        foreach (var (id, path) in options.WorkloadNamespaces)
        {
            var broughtUp = endpoints.OpenInNamespace(id, path);
            AgentLog.Write($"workload endpoint {id}: in {path}{(broughtUp ? ", loopback brought up" : "")}");
        }
        return endpoints;
    }

    /// <summary>
    /// Serves one request of a workload connection: it reaches only the OTLP routes (POST) of its own protocol, and only
    /// as many at once as its container may have in flight.
    /// </summary>
    public static async Task ServeAsync(HttpContext http, WorkloadConnection connection)
    {
        if (!HttpMethods.IsPost(http.Request.Method) || !Routes.TryGetValue(http.Request.Path.Value ?? "", out var route) ||
            route.Protocol != connection.Protocol)
        {
            await RefuseAsync(http, connection, OtlpExport.Refuse(connection.ContainerId, OtlpRefusal.NotServed, OtlpExport.NotServedMessage));
            return;
        }
        if (!connection.ExportsInFlight.Wait(0))
        {
            await RefuseAsync(http, connection, OtlpExport.Refuse(connection.ContainerId, OtlpRefusal.Busy, OtlpExport.BusyMessage));
            return;
        }
        try
        {
            await route.Serve(http);
        }
        finally
        {
            connection.ExportsInFlight.Release();
        }
    }

    private static Task RefuseAsync(HttpContext http, WorkloadConnection connection, OtlpExport.Answer answer) =>
        connection.Protocol == WorkloadProtocol.Grpc
            ? OtlpGrpcEndpoint.AnswerStatusAsync(http, OtlpExport.GrpcCode(answer.Refusal), answer.Message)
            : OtlpHttpEndpoint.AnswerRefusalAsync(http, answer);
}
