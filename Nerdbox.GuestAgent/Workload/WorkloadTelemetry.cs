using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Nerdbox.GuestAgent.Init;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>Marks the routes served on workload endpoints, and over which of their two protocols.</summary>
internal sealed record WorkloadRoute(WorkloadProtocol Protocol);

/// <summary>
/// The containers' OTLP endpoints in the agent's one web host: two listeners beside the host channel's, the
/// OTLP routes, and the gate that keeps the two apart (a workload connection reaches only the OTLP routes of
/// its own protocol; the host channel never reaches them).
/// </summary>
internal static class WorkloadTelemetry
{
    /// <summary>Registers the endpoints' listeners; after the transports (a socket transport is added only when none is there).</summary>
    public static void AddWorkloadTelemetry(this WebApplicationBuilder builder, AgentOptions options)
    {
        var endpoints = new WorkloadEndpoints();
        builder.Services.AddSingleton(endpoints);
        builder.Services.AddSingleton<IConnectionListenerFactory>(new WorkloadListenerFactory(endpoints));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(new WorkloadEndPoint(WorkloadProtocol.Grpc), l => l.Protocols = HttpProtocols.Http2);
            k.Listen(new WorkloadEndPoint(WorkloadProtocol.Http), l => l.Protocols = HttpProtocols.Http1);
        });
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
    }

    public static void MapWorkloadTelemetry(this WebApplication app)
    {
        app.Use(GateAsync);
        var grpc = new WorkloadRoute(WorkloadProtocol.Grpc);
        var http = new WorkloadRoute(WorkloadProtocol.Http);
        app.MapPost(OtlpGrpcEndpoint.TracePath, OtlpGrpcEndpoint.Handler(OtlpSignal.Traces)).WithMetadata(grpc);
        app.MapPost(OtlpGrpcEndpoint.LogsPath, OtlpGrpcEndpoint.Handler(OtlpSignal.Logs)).WithMetadata(grpc);
        app.MapPost(OtlpGrpcEndpoint.MetricsPath, OtlpGrpcEndpoint.Handler(OtlpSignal.Metrics)).WithMetadata(grpc);
        app.MapPost("/v1/traces", OtlpHttpEndpoint.Handler(OtlpSignal.Traces)).WithMetadata(http);
        app.MapPost("/v1/logs", OtlpHttpEndpoint.Handler(OtlpSignal.Logs)).WithMetadata(http);
        app.MapPost("/v1/metrics", OtlpHttpEndpoint.Handler(OtlpSignal.Metrics)).WithMetadata(http);
    }

    /// <summary>
    /// Runs after routing chose an endpoint and before it runs: a workload connection reaches only the OTLP routes of
    /// its own protocol, and only as many at once as its container may have in flight; the host channel never reaches them.
    /// </summary>
    private static async Task GateAsync(HttpContext http, RequestDelegate next)
    {
        var connection = WorkloadConnection.Of(http);
        var route = http.GetEndpoint()?.Metadata.GetMetadata<WorkloadRoute>();
        if (connection is null)
        {
            if (route is null) await next(http);
            else http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (route?.Protocol != connection.Protocol)
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
            await next(http);
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
