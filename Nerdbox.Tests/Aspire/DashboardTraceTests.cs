using System.Text.Json;
using Nerdbox.Telemetry;
using Nerdbox.Tests.Fixture;

namespace Nerdbox.Tests.Aspire;

/// <summary>The AppHost runs here for real: the shim boots a VM and the boot's trace is read back from the dashboard.</summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class DashboardTraceTests(AppHostFixture app) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await app.StartAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public void The_shim_becomes_healthy_and_boots_a_sample_VM()
    {
        Assert.Equal(0, app.Sample.ExitStatus);
        Assert.Contains("hello from a nerdbox sample VM", app.Sample.Output);
        // The app sample posted its own start-up spans to the endpoint its container was given.
        Assert.Contains($"sample-app: 2 spans sent to http://127.0.0.1:4318/v1/traces in trace {app.Sample.TraceId}", app.Sample.Output);
        Assert.Matches("^[0-9a-f]{32}$", app.Sample.TraceId);
        Assert.InRange(app.StartToHealthy, TimeSpan.Zero, TimeSpan.FromMinutes(3));
    }

    [Fact]
    public async Task Trace_show_reads_this_AppHosts_dashboard_without_naming_the_service()
    {
        // The shim is the resource "shim" under Aspire; the viewer finds its traces without --service.
        var source = $"aspire:{app.DashboardUrl}";
        async Task<(int Code, string Output)> Show(string id)
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var code = await Nerdbox.Shim.Cli.TraceCommand.RunAsync(["show", id, "--source", source, "--api-key", app.ApiKey], stdout, stderr, TestContext.Current.CancellationToken);
            return (code, stdout + "\n" + stderr);
        }

        var (code, output) = (1, "");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            (code, output) = await Show(app.Sample.TraceId);
            if (code == 0 && output.Contains("shim.SampleRun") && output.Contains("kernel.Boot")) break;
            await Task.Delay(1000, TestContext.Current.CancellationToken);
        }
        Assert.True(code == 0 && output.Contains("shim.SampleRun") && output.Contains("kernel.Boot"), $"trace show {app.Sample.TraceId} printed:\n{output}");
        Assert.Contains("critical path", output);

        // The newest trace of the shim, whichever call made it (other tests run the sample command too).
        var latest = await Show("latest");
        Assert.True(latest.Code == 0, latest.Output);
        Assert.Contains("services shim", latest.Output);
    }

    [Fact]
    public void Jaeger_says_why_it_was_not_started_when_no_container_runtime_answers()
    {
        var runtime = Nerdbox.AppHost.Jaeger.ContainerRuntimeProbe.Probe();
        if (runtime.Available) Assert.Skip($"a container runtime is here ({runtime.Reason}); Jaeger runs");
        Assert.True(app.App.ResourceNotifications.TryGetCurrentState("jaeger", out var jaeger), "no jaeger resource");
        Assert.Equal("Not started: no container runtime", jaeger!.Snapshot.State?.Text);
        Assert.Contains(jaeger.Snapshot.Properties, p => p.Name == "nerdbox.not_started_reason" && $"{p.Value}".Contains("no engine"));
        // Nothing points the shim at a Jaeger that is not there, so it has no destination to log errors about.
        Assert.True(app.App.ResourceNotifications.TryGetCurrentState("shim", out var shim));
        Assert.DoesNotContain(shim!.Snapshot.EnvironmentVariables, v => v.Name == "NERDBOX_OTLP_EXTRA_ENDPOINTS");
    }

    [Fact]
    public async Task The_dashboard_has_one_trace_with_host_spans_and_nested_nerdbox_vm_spans()
    {
        using var http = new HttpClient { BaseAddress = app.DashboardUrl };
        http.DefaultRequestHeaders.Add("x-api-key", app.ApiKey);
        List<(string Service, string TraceId, string SpanId, string ParentId, string Name)> spans = [];
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var response = await http.GetAsync($"/api/telemetry/traces/{app.Sample.TraceId}");
            if (response.IsSuccessStatusCode)
            {
                spans = Flatten(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
                if (spans.Any(s => s.Name == "task.Start") && spans.Any(s => s.Name == "kernel.Boot") && spans.Any(s => s.Name == "shim.SampleRun")
                    && spans.Any(s => s.Name == "app.Ready")) break;
            }
            await Task.Delay(1000);
        }
        Assert.NotEmpty(spans);
        Assert.All(spans, s => Assert.Equal(app.Sample.TraceId, s.TraceId));
        var guest = spans.Where(s => s.Service == ShimTracing.GuestServiceName).ToList();
        var host = spans.Where(s => s.Service == "shim").ToList();
        foreach (var name in new[] { "shim.SampleRun", "shim.VMBoot", "vm.WaitForAgent", "shim.TaskCreate", "shim.Start" })
            Assert.Single(host, s => s.Name == name);
        foreach (var name in new[] { "task.Create", "crun.Create", "task.Start", "crun.Start", "bundle.MountRootfs", "kernel.Boot", "agent.Start" })
            Assert.Single(guest, s => s.Name == name);
        var byId = spans.ToDictionary(s => s.SpanId);
        foreach (var g in guest)
        {
            Assert.True(byId.TryGetValue(g.ParentId, out var parent), $"{g.Name} has no parent in the dashboard's trace");
            if (g.Name.Contains('/')) Assert.Equal("shim", parent.Service);
        }
        // The boot runs on into the app's own spans, under its own service name, children of the container's start.
        var appSpans = spans.Where(s => s.Service == Nerdbox.Engine.Bundles.SampleBundle.AppServiceName).ToList();
        foreach (var name in Nerdbox.Engine.Bundles.SampleBundle.AppSpans)
        {
            var span = Assert.Single(appSpans, s => s.Name == name);
            Assert.True(byId.TryGetValue(span.ParentId, out var parent), $"{name} has no parent in the dashboard's trace");
            Assert.Equal("crun.Start", parent.Name);
            Assert.Equal(ShimTracing.GuestServiceName, parent.Service);
        }
    }

    /// <summary>The dashboard answers OTLP JSON: resourceSpans → scopeSpans → spans, under "data".</summary>
    private static List<(string, string, string, string, string)> Flatten(JsonElement root)
    {
        var list = new List<(string, string, string, string, string)>();
        var data = root.TryGetProperty("data", out var d) ? d : root;
        foreach (var rs in data.GetProperty("resourceSpans").EnumerateArray())
        {
            var service = rs.GetProperty("resource").GetProperty("attributes").EnumerateArray()
                .Where(a => a.GetProperty("key").GetString() == "service.name")
                .Select(a => a.GetProperty("value").GetProperty("stringValue").GetString()).FirstOrDefault() ?? "";
            foreach (var ss in rs.GetProperty("scopeSpans").EnumerateArray())
                foreach (var s in ss.GetProperty("spans").EnumerateArray())
                    list.Add((service, s.GetProperty("traceId").GetString()!, s.GetProperty("spanId").GetString()!,
                        s.TryGetProperty("parentSpanId", out var p) ? p.GetString() ?? "" : "", s.GetProperty("name").GetString()!));
        }
        return list;
    }
}
