namespace Nerdbox.AppHost.Jaeger;

/// <summary>What became of Jaeger: the container resource when it will run, else why not.</summary>
public sealed record JaegerDeployment(IResourceBuilder<JaegerResource>? Container, string NotStartedReason);

/// <summary>Shown in place of Jaeger when no container runtime answers: a resource whose state says why.</summary>
public sealed class JaegerNotStartedResource(string name) : Resource(name);

public static class JaegerResourceBuilderExtensions
{
    /// <summary>
    /// Adds Jaeger. In run mode without a container runtime, Jaeger cannot start (and Aspire would
    /// refuse to start the whole app over one container): a placeholder resource takes its place,
    /// its state and a warning say why, and nothing is pointed at it. Publishing always describes Jaeger.
    /// With <see cref="JaegerResource.PersistentConfigKey"/> true the container outlives the AppHost.
    /// </summary>
    public static JaegerDeployment AddJaeger(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.ExecutionContext.IsRunMode && ContainerRuntimeProbe.Probe() is { Available: false } runtime)
        {
            var reason = $"Jaeger was not started: {runtime.Reason}. The shim and the dashboard run without it; traces are in the dashboard";
            builder.AddResource(new JaegerNotStartedResource(name))
                .WithInitialState(new CustomResourceSnapshot
                {
                    ResourceType = "Container",
                    State = new ResourceStateSnapshot("Not started: no container runtime", KnownResourceStateStyles.Warn),
                    Properties = [new("nerdbox.not_started_reason", runtime.Reason), new(CustomResourceKnownProperties.Source, $"{JaegerResource.Image}:{JaegerResource.Tag}")],
                });
            builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
            {
                e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Nerdbox.AppHost").LogWarning("{Reason}", reason);
                return Task.CompletedTask;
            });
            return new JaegerDeployment(null, reason);
        }

        var jaeger = builder.AddResource(new JaegerResource(name))
            .WithImage(JaegerResource.Image, JaegerResource.Tag)
            .WithHttpEndpoint(targetPort: JaegerResource.UiPort, name: JaegerResource.UiEndpointName)
            .WithHttpEndpoint(targetPort: JaegerResource.OtlpGrpcPort, name: JaegerResource.OtlpGrpcEndpointName)
            .WithHttpEndpoint(targetPort: JaegerResource.OtlpHttpPort, name: JaegerResource.OtlpHttpEndpointName)
            .WithHttpEndpoint(targetPort: JaegerResource.HealthPort, name: JaegerResource.HealthEndpointName)
            .WithHttpHealthCheck(JaegerResource.HealthPath, endpointName: JaegerResource.HealthEndpointName)
            .WithUrlForEndpoint(JaegerResource.UiEndpointName, u => u.DisplayText = "Jaeger UI");
        // Receivers and the health check are for programs, not for clicking: listed in the details only.
        foreach (var endpoint in new[] { JaegerResource.OtlpGrpcEndpointName, JaegerResource.OtlpHttpEndpointName, JaegerResource.HealthEndpointName })
            jaeger.WithUrlForEndpoint(endpoint, u => u.DisplayLocation = UrlDisplayLocation.DetailsOnly);
        jaeger.WithEndpoint(JaegerResource.OtlpGrpcEndpointName, e => e.Transport = "http2");
        if (builder.Configuration.GetValue<bool>(JaegerResource.PersistentConfigKey))
            jaeger.WithLifetime(ContainerLifetime.Persistent);
        return new JaegerDeployment(jaeger, "");
    }
}
