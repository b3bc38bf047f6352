using Microsoft.Extensions.Configuration;
using Nerdbox.Telemetry.Settings;
using OpenTelemetry.Resources;

namespace Nerdbox.Telemetry.Tracing;

/// <summary>The host's resource: <c>service.name</c> from OTEL_SERVICE_NAME (default nerdbox) and OTEL_RESOURCE_ATTRIBUTES.</summary>
public static class ShimResource
{
    /// <summary>
    /// For a stand-alone provider (a CLI verb): the SDK's own attributes, then OTEL_RESOURCE_ATTRIBUTES
    /// as <see cref="ResourceAttributes.Parse"/> reads it (the same reading the guest's resource gets), then the
    /// service name. A fresh <c>service.instance.id</c> unless the attributes give one.
    /// </summary>
    public static ResourceBuilder Builder(IConfiguration configuration)
    {
        var attributes = OtelEnvironment.ResourceAttributes(configuration);
        return ResourceBuilder.CreateEmpty()
            .AddTelemetrySdk()
            .AddAttributes(attributes.Attributes.Select(a => new KeyValuePair<string, object>(a.Key, a.Value)))
            .AddService(OtelEnvironment.ServiceName(configuration),
                autoGenerateServiceInstanceId: attributes["service.instance.id"] is null);
    }

    /// <summary>
    /// For a hosted provider, whose SDK already applies both variables: only the default name, when neither
    /// variable names the service (else the SDK's <c>unknown_service:...</c> would stand).
    /// </summary>
    public static ResourceBuilder AddDefaultServiceName(this ResourceBuilder builder) =>
        builder.AddDetector(sp => new DefaultServiceName((IConfiguration?)sp.GetService(typeof(IConfiguration)) ?? OtelEnvironment.Current()));

    private sealed class DefaultServiceName(IConfiguration configuration) : IResourceDetector
    {
        public Resource Detect() =>
            configuration[OtelEnvironment.ServiceNameVariable] is { Length: > 0 } || OtelEnvironment.ResourceAttributes(configuration)["service.name"] is not null
                ? Resource.Empty
                : new Resource([new KeyValuePair<string, object>("service.name", ShimTracing.ServiceName)]);
    }
}
