using Nerdbox.AppHost.Jaeger;

namespace Nerdbox.AppHost.Shim;

public static class ShimResourceBuilderExtensions
{
    /// <summary>The shim's gRPC task API (HTTP/2 cleartext), for tools that drive tasks.</summary>
    public const string TaskApiEndpointName = "taskapi";
    public const string HttpEndpointName = "http";

    public static IResourceBuilder<ProjectResource> AddShim(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddProject<Projects.Nerdbox_Shim>(name)
            .WithHttpEndpoint(name: TaskApiEndpointName, env: "NERDBOX_TASK_API_PORT")
            .WithEndpoint(TaskApiEndpointName, e => e.Transport = "http2")
            // Healthy only once it can boot VMs; the check's description says why not.
            .WithHttpHealthCheck("/health");

    /// <summary>Points the shim's extra OTLP destination at Jaeger, when Jaeger runs.</summary>
    public static IResourceBuilder<ProjectResource> WithOtlpExporterTo(this IResourceBuilder<ProjectResource> shim, JaegerDeployment jaeger)
    {
        if (jaeger.Container is not { } container) return shim;
        return shim.WithEnvironment("NERDBOX_OTLP_EXTRA_ENDPOINTS",
            // No WaitFor: a Jaeger that is slow or fails to start must not hold the shim back; its losses are counted.
            ReferenceExpression.Create($"jaeger={container.Resource.OtlpGrpc.Property(EndpointProperty.Url)};grpc"));
    }
}
