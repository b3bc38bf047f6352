using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Tasks;
using Nerdbox.Telemetry;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using Nerdbox.Tests.Tracing;

namespace Nerdbox.Tests.Workload;

/// <summary>
/// A container's own telemetry, with real VMs: the workload posts to the OTLP endpoint the agent gave it, using only
/// the environment it was given, and the test reads the run's trace back from a real OTLP receiver.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed partial class WorkloadTelemetryTests(GuestImageFixture fixture)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_containers_spans_join_the_boot_trace_under_its_start_with_its_own_service_and_the_clock_corrected()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = Path.Combine(scratch.Root, "bundles", "app");
        await SampleBundle.CreateAppAsync(bundle, "hello from the workload test");
        var options = await scratch.OptionsAsync(fixture, BootTimeout) with { GuestSpanSink = traced.Sinks };

        var run = await TaskRun.RunAsync("workload-app", bundle, options);
        var stdout = Encoding.UTF8.GetString(run.Stdout);
        Assert.True(run.ExitStatus == 0, $"exit {run.ExitStatus}\n{stdout}\n{Encoding.UTF8.GetString(run.Stderr)}");
        Assert.Contains("hello from the workload test", stdout);
        if (!stdout.Contains($"sample-app: 2 spans sent to http://127.0.0.1:4318/v1/traces in trace {run.TraceId}"))
        {
            // Say what the guest gave the container, from its create span, with what the app printed.
            var boot = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "task.Delete"));
            var given = boot.Where(s => s.Span.Name is "task.Create" or "task.Start").SelectMany(s => s.Span.Attributes).Where(a => a.Key.StartsWith("nerdbox.workload."));
            Assert.Fail($"the app did not send its spans:\n{stdout}\ncreate and start said: {string.Join(", ", given.Select(a => $"{a.Key}={a.Value}"))}");
        }

        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "shim.Run") && s.Any(x => x.Span.Name == "task.Delete")
            && s.Count(x => x.ServiceName == SampleBundle.AppServiceName) == 2);
        // One trace: nothing of the app's arrived in any other.
        Assert.Equal(2, traced.Receiver.Spans.Count(s => s.ServiceName == SampleBundle.AppServiceName));
        var app = spans.Where(s => s.ServiceName == SampleBundle.AppServiceName).ToList();
        Assert.Equal(SampleBundle.AppSpans, app.Select(s => s.Span.Name).Order(StringComparer.Ordinal));

        // Under the container's start: TRACEPARENT named the guest's crun.Start of this container.
        var start = Assert.Single(spans, s => s.ServiceName == ShimTracing.GuestServiceName && s.Span.Name == "crun.Start");
        var wait = Assert.Single(spans, s => s.ServiceName == ShimTracing.ServiceName && s.Span.Name == "shim.Wait");
        foreach (var s in app)
        {
            Assert.Equal(start.Span.SpanId, s.Span.ParentSpanId);
            // Clock-corrected as the agent's spans are, and so placed on the host's clock: after the start began, before the
            // host saw the container exit (the app posts its spans before it exits), within the correction's uncertainty.
            var attrs = s.Span.Attributes.ToDictionary(a => a.Key, a => a.Value);
            Assert.True(attrs.ContainsKey("nerdbox.clock.offset_ns"), $"{s.Span.Name} carries no clock correction");
            var slack = (ulong)attrs["nerdbox.clock.uncertainty_ns"].IntValue;
            Assert.True(s.Span.StartTimeUnixNano + slack >= start.Span.StartTimeUnixNano, $"{s.Span.Name} starts before crun.Start");
            Assert.True(s.Span.EndTimeUnixNano <= wait.Span.EndTimeUnixNano + slack, $"{s.Span.Name} ends after shim.Wait");

            // Its own resource, with what the host adds.
            var resource = s.Resource.Attributes.ToDictionary(a => a.Key, a => a.Value.StringValue);
            Assert.Equal(SampleBundle.AppServiceName, resource["service.name"]);
            Assert.Equal("workload-app", resource["container.id"]);
            Assert.Equal("workload-app", resource[GuestResource.VmIdKey]);
            Assert.False(resource.ContainsKey("service.instance.id"), "the host does not give the app the VM's service.instance.id");
        }
        var loadConfig = app.Single(s => s.Span.Name == "app.LoadConfig").Span;
        var ready = app.Single(s => s.Span.Name == "app.Ready").Span;
        Assert.True(loadConfig.EndTimeUnixNano <= ready.StartTimeUnixNano, "app.LoadConfig ends before app.Ready starts");

        // Counted for this container, nothing lost.
        var container = Assert.Single(run.Relay!.Workloads);
        Assert.Equal("workload-app", container.ContainerId);
        Assert.Equal(2, container.SpansForwarded);
        Assert.False(container.Lost, container.ToString());
    }

    [Fact]
    public async Task A_flooding_container_is_bounded_and_counted_and_the_boots_spans_all_arrive()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        const int batches = 4, perBatch = 900;
        var bundle = await WorkloadScripts.BundleAsync(scratch, "flood", WorkloadScripts.Flood, $"{batches}", $"{perBatch}");
        var options = await scratch.OptionsAsync(fixture, BootTimeout) with { GuestSpanSink = traced.Sinks };

        var run = await TaskRun.RunAsync("flood", bundle, options);
        var stdout = Encoding.UTF8.GetString(run.Stdout);
        Assert.True(run.ExitStatus == 0, $"exit {run.ExitStatus}\n{stdout}");
        Assert.Contains($"flood done: {batches} batches of {perBatch} spans", stdout);

        // Every batch was answered, each as OTLP partial success for what the container's share could not hold.
        var answers = Lines(stdout, "flood batch ");
        Assert.Equal(batches, answers.Count);
        Assert.All(answers, a => Assert.StartsWith("rc=0 ", a));
        var answeredRejected = answers.Sum(a => RejectedSpans().Match(a) is { Success: true } m ? long.Parse(m.Groups[1].Value) : 0);
        Assert.True(answeredRejected > 0, $"no batch was answered with a partial success:\n{stdout}");

        // Counted per container: what the guest received and dropped matches what was answered, and the host forwarded the rest.
        var flood = Assert.Single(run.Relay!.Workloads, w => w.ContainerId == "flood");
        Assert.Equal((ulong)(batches * perBatch), flood.Guest.SpansReceived);
        Assert.True(flood.Guest.SpansDropped > 0, flood.ToString());
        Assert.Equal((ulong)answeredRejected, flood.Guest.SpansDropped + flood.Guest.ItemsRejected);
        Assert.True(flood.Lost, flood.ToString());
        Assert.Equal(flood.Guest.SpansReceived - flood.Guest.SpansDropped - flood.Guest.ItemsRejected, (ulong)flood.SpansReceived);

        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "shim.Run") && s.Any(x => x.Span.Name == "task.Delete")
            && s.Count(x => x.ServiceName == "flood") >= flood.SpansForwarded);
        Assert.Equal(flood.SpansForwarded, spans.Count(s => s.ServiceName == "flood"));

        // The boot's own spans are not crowded out: each arrived, once, and the guest dropped none of the agent's.
        var host = spans.Where(s => s.ServiceName == ShimTracing.ServiceName).ToList();
        var guest = spans.Where(s => s.ServiceName == ShimTracing.GuestServiceName).ToList();
        foreach (var name in BootTraceTests.HostSpans) Assert.Single(host, s => s.Span.Name == name);
        foreach (var name in BootTraceTests.GuestSpans) Assert.Single(guest, s => s.Span.Name == name);
        var delete = host.Single(s => s.Span.Name == "shim.Delete").Span.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal(0, delete["nerdbox.guest.spans_dropped"].IntValue);
        Assert.True(delete["nerdbox.relay.complete"].BoolValue);
        Assert.Equal(0, traced.OpenHostSpans(run.TraceId));
    }

    [Fact]
    public async Task Malformed_OTLP_from_a_container_gets_an_error_answer_and_leaves_the_agent_and_host_unaffected()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await WorkloadScripts.BundleAsync(scratch, "malformed", WorkloadScripts.Malformed);
        var options = await scratch.OptionsAsync(fixture, BootTimeout) with { GuestSpanSink = traced.Sinks };

        var run = await TaskRun.RunAsync("malformed", bundle, options);
        var stdout = Encoding.UTF8.GetString(run.Stdout);
        Assert.True(run.ExitStatus == 7, $"exit {run.ExitStatus}\n{stdout}");

        var answers = stdout.Split('\n').Select(l => l.Split(": ", 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
        string Answer(string name) => answers.TryGetValue(name, out var a) ? a : throw new Xunit.Sdk.XunitException($"no answer for {name} in:\n{stdout}");
        Assert.Contains("HTTP/1.1 400", Answer("bad-json"));
        Assert.Contains("HTTP/1.1 400", Answer("bad-protobuf"));
        Assert.Contains("HTTP/1.1 413", Answer("oversized"));
        Assert.Contains("HTTP/1.1 415", Answer("wrong-type"));
        Assert.Contains("HTTP/1.1 404", Answer("metrics"));
        Assert.Contains("HTTP/1.1 404", Answer("not-served"));
        // A good request with one span of bad ids: that span is refused, the other kept, as partial success.
        Assert.StartsWith("rc=0 ", Answer("bad-ids"));
        Assert.Equal("1", RejectedSpans().Match(Answer("bad-ids")).Groups[1].Value);
        Assert.Contains("trace_id", Answer("bad-ids"));
        Assert.StartsWith("rc=0 ", Answer("good"));

        var container = Assert.Single(run.Relay!.Workloads, w => w.ContainerId == "malformed");
        Assert.Equal(6UL, container.Guest.RequestsRejected);
        Assert.Equal(1UL, container.Guest.ItemsRejected);
        Assert.Equal(2, container.SpansForwarded);

        // The agent and the host went on as if nothing happened: the boot's spans complete, and the good ones arrived.
        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "shim.Run") && s.Any(x => x.Span.Name == "task.Delete")
            && s.Any(x => x.Span.Name == "malformed.After"));
        var host = spans.Where(s => s.ServiceName == ShimTracing.ServiceName).ToList();
        var guest = spans.Where(s => s.ServiceName == ShimTracing.GuestServiceName).ToList();
        foreach (var name in BootTraceTests.HostSpans) Assert.Single(host, s => s.Span.Name == name);
        foreach (var name in BootTraceTests.GuestSpans) Assert.Single(guest, s => s.Span.Name == name);
        Assert.Equal(["malformed.After", "malformed.Kept"], spans.Where(s => s.ServiceName == "malformed").Select(s => s.Span.Name).Order(StringComparer.Ordinal));
        Assert.Equal(0, traced.OpenHostSpans(run.TraceId));
        Assert.Empty(run.Relay.DroppedByReason);
    }

    [Fact]
    public async Task From_inside_the_container_the_endpoint_answers_and_no_host_address_does()
    {
        // A port the host really listens on, on every address: from the container, none of them may be reached.
        var hostAddress = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        Assert.True(hostAddress is not null, "this host has no non-loopback IPv4 address to try");
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptTcpClientAsync(TestContext.Current.CancellationToken).AsTask();

        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await WorkloadScripts.BundleAsync(scratch, "isolation", WorkloadScripts.Isolation, "10.0.2.2", hostAddress!.ToString(), $"{port}");
        var options = await scratch.OptionsAsync(fixture, BootTimeout) with { GuestSpanSink = traced.Sinks };
        var run = await TaskRun.RunAsync("isolation", bundle, options);
        var stdout = Encoding.UTF8.GetString(run.Stdout);
        Assert.True(run.ExitStatus == 0, $"exit {run.ExitStatus}\n{stdout}");
        var lines = stdout.Split('\n').Select(l => l.Split(": ", 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);

        Assert.StartsWith("rc=0 ", lines["endpoint"]);
        Assert.Contains("Network is unreachable", lines["gateway"]);
        Assert.DoesNotContain("rc=0", lines["gateway"]);
        Assert.Contains("Network is unreachable", lines["host"]);
        Assert.DoesNotContain("rc=0", lines["host"]);
        Assert.False(accepted.IsCompleted, "the host's listener accepted a connection");
        // No route at all, and no link but loopback: nothing to reach the host by.
        Assert.Equal("", lines["routes"].Trim(' ', ';'));
        Assert.Equal("0 entries", lines["proc-route"]);
        Assert.Equal("lo:", lines["links"].Trim());
        // The agent's channel to the host is no device of the container's.
        Assert.DoesNotContain("vport", lines["devices"]);
        Assert.DoesNotContain("vsock", lines["devices"]);

        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "isolation.Reached") && s.Any(x => x.Span.Name == "shim.Run"));
        Assert.Equal("isolation", Assert.Single(spans, s => s.Span.Name == "isolation.Reached").Resource.Attributes.Single(a => a.Key == "container.id").Value.StringValue);
        listener.Stop();
    }

    /// <summary>The rest of each line that starts with <paramref name="prefix"/> and a number, in order.</summary>
    private static List<string> Lines(string stdout, string prefix) =>
        [.. stdout.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..])];

    [GeneratedRegex("\"rejectedSpans\":\"?(\\d+)")]
    private static partial Regex RejectedSpans();
}
