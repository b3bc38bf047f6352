namespace Nerdbox.AppHost.Jaeger;

public static class JaegerResourceBuilderExtensions
{
    /// <summary>
    /// Adds Jaeger. Where no container runtime answers (in run mode), Jaeger is kept in the model
    /// but not started, and its state says why; nothing is pointed at it then.
    /// </summary>
    public static IResourceBuilder<JaegerResource> AddJaeger(this IDistributedApplicationBuilder builder, string name)
    {
        var jaeger = builder.AddResource(new JaegerResource(name))
            .WithImage(JaegerResource.Image, JaegerResource.Tag)
            .WithHttpEndpoint(targetPort: JaegerResource.UiPort, name: JaegerResource.UiEndpointName)
            .WithHttpEndpoint(targetPort: JaegerResource.OtlpGrpcPort, name: JaegerResource.OtlpGrpcEndpointName)
            .WithHttpEndpoint(targetPort: JaegerResource.OtlpHttpPort, name: JaegerResource.OtlpHttpEndpointName)
            .WithUrlForEndpoint(JaegerResource.UiEndpointName, u => u.DisplayText = "Jaeger UI");
        jaeger.WithEndpoint(JaegerResource.OtlpGrpcEndpointName, e => e.Transport = "http2");

        if (builder.ExecutionContext.IsRunMode)
        {
            var runtime = ContainerRuntimeProbe.Probe();
            jaeger.WithAnnotation(runtime);
            if (!runtime.Available)
            {
                jaeger.WithExplicitStart();
                builder.Eventing.Subscribe<BeforeStartEvent>((e, ct) =>
                {
                    var logger = e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Nerdbox.AppHost");
                    logger.LogWarning("Jaeger was not started: {Reason}. The shim and the dashboard run without it; traces are in the dashboard.", runtime.Reason);
                    return Task.CompletedTask;
                });
                builder.Eventing.Subscribe<ResourceEndpointsAllocatedEvent>(jaeger.Resource, async (e, ct) =>
                {
                    var notifications = e.Services.GetRequiredService<ResourceNotificationService>();
                    await notifications.PublishUpdateAsync(jaeger.Resource, s => s with
                    {
                        State = new ResourceStateSnapshot("Not started: no container runtime", KnownResourceStateStyles.Warn),
                        Properties = [.. s.Properties, new("nerdbox.not_started_reason", runtime.Reason)],
                    });
                });
            }
        }
        return jaeger;
    }

    /// <summary>True when Jaeger will run: always in publish mode, in run mode only with a container runtime.</summary>
    public static bool WillRun(this IResourceBuilder<JaegerResource> jaeger) =>
        !jaeger.Resource.TryGetLastAnnotation<ContainerRuntimeProbe.Result>(out var r) || r.Available;
}
