using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Nerdbox.AppHost.Jaeger;
using Nerdbox.Shim.Cli;
using Nerdbox.Telemetry;
using Nerdbox.TraceViewer;

namespace Nerdbox.Tests.Aspire;

/// <summary>
/// Where a container runtime answers, the AppHost runs Jaeger beside the dashboard: the sample boot's
/// trace is read back from Jaeger's query API with the product's own Jaeger reader. Elsewhere the
/// test is skipped with the AppHost's own reason.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class JaegerTraceTests(AppHostFixture app)
{
    private const string JaegerResourceName = "jaeger";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Jaeger_has_the_sample_boot_with_host_spans_and_nested_nerdbox_vm_spans()
    {
        // Asked before the AppHost starts, so that a machine without a runtime does not start it for nothing.
        var runtime = ContainerRuntimeProbe.Probe();
        if (!runtime.Available) Assert.Skip($"Jaeger: {runtime.Reason}");

        await app.StartAsync();
        var model = app.App.Services.GetRequiredService<DistributedApplicationModel>();
        if (model.Resources.OfType<JaegerNotStartedResource>().Any())
            Assert.Skip("Jaeger: the AppHost did not start it (its container runtime probe said no when the app was built)");
        Assert.Single(model.Resources.OfType<JaegerResource>());

        // Pulling the image can take a while on a fresh machine.
        await app.App.ResourceNotifications.WaitForResourceAsync(JaegerResourceName, KnownResourceStates.Running)
            .WaitAsync(TimeSpan.FromMinutes(5));
        var ui = app.App.GetEndpoint(JaegerResourceName, JaegerResource.UiEndpointName);
        var source = TraceCommand.CreateSource($"jaeger:{ui}", service: null, apiKey: null, lookback: TimeSpan.FromHours(1));

        // Spans reach Jaeger in batches (the guest's after the host's), so read until both are there.
        TraceModel? trace = null;
        var last = "";
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                trace = await source.GetAsync(app.Sample.TraceId, TestContext.Current.CancellationToken);
                if (trace.Spans.Any(s => s.Name == "crun.Start") && trace.Spans.Any(s => s.Name == "kernel.Boot") && trace.Spans.Any(s => s.Name == "shim.SampleRun")) break;
                last = $"{trace.Spans.Count} spans so far";
            }
            catch (TraceViewerException e)
            {
                last = e.Message;
            }
            await Task.Delay(1000);
        }
        Assert.True(trace is not null, $"{source.Description} never answered for trace {app.Sample.TraceId}: {last}");

        Assert.Equal(app.Sample.TraceId, trace.TraceId);
        var host = trace.Spans.Where(s => s.Service != ShimTracing.GuestServiceName).ToList();
        var guest = trace.Spans.Where(s => s.Service == ShimTracing.GuestServiceName).ToList();
        foreach (var name in new[] { "shim.SampleRun", "shim.VMBoot", "vm.WaitForAgent", "shim.TaskCreate", "shim.Start" })
            Assert.Single(host, s => s.Name == name);
        foreach (var name in new[] { "task.Create", "crun.Create", "task.Start", "crun.Start", "bundle.MountRootfs", "kernel.Boot", "agent.Start" })
            Assert.Single(guest, s => s.Name == name);
        // One tree: every guest span hangs under a parent that Jaeger has, and each guest subtree under a host span.
        Assert.Single(trace.Roots);
        Assert.Equal("shim.SampleRun", trace.Roots[0].Name);
        foreach (var g in guest)
        {
            Assert.False(g.IsOrphan, $"{g.Name}'s parent {g.ParentId} is not in Jaeger's trace");
            var top = g;
            while (top.Parent is { Service: ShimTracing.GuestServiceName } p) top = p;
            Assert.True(top.Parent is not null, $"{g.Name} is not under a host span");
        }
    }
}
