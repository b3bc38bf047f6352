using System.Net.Http.Json;
using Nerdbox.AppHost.Jaeger;

namespace Nerdbox.AppHost.Shim;

public static class ShimResourceBuilderExtensions
{
    /// <summary>The shim's gRPC task API (HTTP/2 cleartext), for tools that drive tasks.</summary>
    public const string TaskApiEndpointName = "taskapi";
    public const string HttpEndpointName = "http";
    public const string SampleRunCommandName = "boot-sample-vm";

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

    /// <summary>A dashboard command that boots a VM with a sample container and logs a link to its trace.</summary>
    public static IResourceBuilder<ProjectResource> WithSampleRunCommand(this IResourceBuilder<ProjectResource> shim) =>
        shim.WithCommand(SampleRunCommandName, "Boot a sample VM", async context =>
        {
            var endpoint = shim.Resource.GetEndpoint(HttpEndpointName);
            using var http = new HttpClient { BaseAddress = new Uri(endpoint.Url), Timeout = TimeSpan.FromMinutes(3) };
            var response = await http.PostAsync("/samples/run", null, context.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(context.CancellationToken);
            var logger = context.Services.GetRequiredService<ResourceLoggerService>().GetLogger(shim.Resource);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogError("sample VM failed: {Body}", body);
                return CommandResults.Failure($"the sample VM failed: {body}");
            }
            var result = System.Text.Json.JsonDocument.Parse(body).RootElement;
            var traceId = result.GetProperty("traceId").GetString();
            var dashboard = context.Services.GetRequiredService<IConfiguration>()["ASPNETCORE_URLS"]?.Split(';')[0];
            logger.LogInformation("sample VM done (exit {Exit}); trace: {Dashboard}/traces/detail/{TraceId}",
                result.GetProperty("exitStatus").GetInt32(), dashboard, traceId);
            return CommandResults.Success();
        }, new CommandOptions
        {
            Description = "Boots a microVM, runs a busybox container in it and links to the boot's trace",
            IconName = "Play",
            UpdateState = c => c.ResourceSnapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy
                ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
        });
}
