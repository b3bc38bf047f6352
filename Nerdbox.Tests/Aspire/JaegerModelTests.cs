using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Nerdbox.AppHost.Jaeger;

namespace Nerdbox.Tests.Aspire;

/// <summary>
/// Jaeger as the AppHost describes it: built in publish mode, where Jaeger is always in the model, so that this
/// runs without a container runtime; and, where one answers, the running container's health and URLs.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class JaegerModelTests(AppHostFixture app)
{
    private static async Task<JaegerResource> JaegerAsync(params string[] args)
    {
        var output = Path.Combine(Path.GetTempPath(), $"nerdbox-manifest-{Guid.NewGuid():N}.json");
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Nerdbox_AppHost>(
            ["--publisher", "manifest", "--output-path", output, .. args], TestContext.Current.CancellationToken);
        return Assert.Single(builder.Resources.OfType<JaegerResource>());
    }

    [Fact]
    public async Task Jaeger_has_a_health_check_on_its_health_extension_and_a_session_lifetime_by_default()
    {
        var jaeger = await JaegerAsync();
        var health = Assert.Single(jaeger.Annotations.OfType<EndpointAnnotation>(), e => e.Name == JaegerResource.HealthEndpointName);
        Assert.Equal(13133, health.TargetPort);
        Assert.NotEmpty(jaeger.Annotations.OfType<HealthCheckAnnotation>());
        Assert.DoesNotContain(jaeger.Annotations.OfType<ContainerLifetimeAnnotation>(), a => a.Lifetime == ContainerLifetime.Persistent);
    }

    [Fact]
    public async Task Jaeger_is_persistent_when_the_AppHost_is_told_so()
    {
        var jaeger = await JaegerAsync($"--{JaegerResource.PersistentConfigKey}=true");
        Assert.Contains(jaeger.Annotations.OfType<ContainerLifetimeAnnotation>(), a => a.Lifetime == ContainerLifetime.Persistent);
    }

    [Fact]
    public async Task Running_Jaeger_becomes_healthy_and_lists_its_OTLP_endpoints_in_the_details_only()
    {
        var runtime = ContainerRuntimeProbe.Probe();
        if (!runtime.Available) Assert.Skip($"Jaeger: {runtime.Reason}");
        await app.StartAsync();
        await app.App.ResourceNotifications.WaitForResourceHealthyAsync("jaeger").WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(app.App.ResourceNotifications.TryGetCurrentState("jaeger", out var jaeger));
        foreach (var name in new[] { JaegerResource.OtlpGrpcEndpointName, JaegerResource.OtlpHttpEndpointName })
            Assert.Contains(jaeger!.Snapshot.Urls, u => u.Name == name && u.IsInternal);
        Assert.Contains(jaeger!.Snapshot.Urls, u => u.Name == JaegerResource.UiEndpointName && !u.IsInternal);
    }
}
