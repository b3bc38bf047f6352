using Nerdbox.Engine.Tasks;
using Nerdbox.Telemetry;
using Nerdbox.Telemetry.Tracing;
using Nerdbox.Engine.Vm;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// One boot = one trace: a real VM runs a container while the shim's spans and the guest's relayed
/// spans go to a real OTLP/gRPC receiver; the trace is checked for ids, names, parents and times.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class BootTraceTests(GuestImageFixture fixture)
{
    internal static readonly string[] HostSpans =
    [
        "shim.Run", "shim.BundleLoad", "shim.VMBoot", "vm.VMMStart", "vm.WaitForAgent", "vm.ClockSync",
        "vm.GuestEntry", "vm.ChannelConnect",
        "shim.BundleTransfer", "shim.IOSetup", "shim.TaskCreate", "shim.Start", "shim.Wait", "shim.Delete", "vm.Shutdown",
    ];

    internal static readonly string[] GuestSpans =
    [
        "nerdbox.services.bundle.v1.Bundle/Create", "bundle.Create", "bundle.MountRootfs", "mount.Writable", "mount.Overlay",
        "nerdbox.services.task.v1.Task/Create", "task.Create", "crun.Create",
        "nerdbox.services.task.v1.Task/Start", "task.Start", "crun.Start",
        "nerdbox.services.task.v1.Task/Wait", "task.Wait", "task.Delete", "crun.Delete",
        "kernel.Boot", "kernel.StartKernel", "kernel.Initcalls", "kernel.InitramfsUnpack", "kernel.FreeInitMemory", "kernel.ExecInit",
        "agent.Start", "agent.Mounts", "agent.KernelModules", "agent.Setup", "agent.ServerStart", "agent.FirstRequest",
        "agent.KernelModulesDeferred",
    ];

    [Fact]
    public async Task A_boot_is_one_trace_with_host_and_guest_spans_nested_and_on_one_clock()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("traced", "sh", "-c", "echo traced");
        // The host's OTEL_RESOURCE_ATTRIBUTES, as preparation reads them; its service identity names the shim, not the guest.
        var otel = HostOtelEnvironmentTests.From("deployment.environment.name=boot%20test,service.instance.id=the-shim,service.version=9.9");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks, Otel = otel };

        var run = await TaskRun.RunAsync("traced", bundle, options);
        Assert.Equal(0, run.ExitStatus);
        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "task.Delete") && s.Any(x => x.Span.Name == "shim.Run"));

        // One trace: everything the run made carries the root's trace id (filtered above), and nothing else came.
        Assert.All(traced.Receiver.Spans.Where(s => s.ServiceName == ShimTracing.GuestServiceName),
            s => Assert.Equal(run.TraceId, TracedRun.Hex(s.Span.TraceId)));
        var host = spans.Where(s => s.ServiceName == ShimTracing.ServiceName).ToList();
        var guest = spans.Where(s => s.ServiceName == ShimTracing.GuestServiceName).ToList();
        foreach (var name in HostSpans) Assert.Single(host, s => s.Span.Name == name);
        foreach (var name in GuestSpans) Assert.Single(guest, s => s.Span.Name == name);

        // No span left open, on either side.
        Assert.Equal(0, traced.OpenHostSpans(run.TraceId));
        Assert.All(spans, s => Assert.True(s.Span.EndTimeUnixNano >= s.Span.StartTimeUnixNano && s.Span.StartTimeUnixNano > 0, s.Span.Name));

        var byId = spans.ToDictionary(s => TracedRun.Hex(s.Span.SpanId));
        Assert.Equal(spans.Count, byId.Count);
        foreach (var g in guest)
        {
            var parentId = TracedRun.Hex(g.Span.ParentSpanId);
            Assert.True(byId.TryGetValue(parentId, out var parent), $"guest span {g.Span.Name} has no parent in the trace");
            if (g.Span.Kind == Span.Types.SpanKind.Server)
            {
                // A guest RPC span hangs off the host's client span for the same call.
                Assert.Equal(ShimTracing.ServiceName, parent.ServiceName);
                Assert.Equal(Span.Types.SpanKind.Client, parent.Span.Kind);
                Assert.Equal(g.Span.Name, parent.Span.Name);
            }
            else if (g.Span.Name is "kernel.Boot" or "agent.Start")
            {
                // Guest work the host placed from the guest's own clock and log explains the host's wait for the agent.
                Assert.Equal(ShimTracing.ServiceName, parent.ServiceName);
                Assert.Equal("vm.WaitForAgent", parent.Span.Name);
            }
            else if (g.Span.Name is "agent.FirstRequest")
            {
                // The guest's side of the channel's first round trip.
                Assert.Equal("vm.ChannelConnect", parent.Span.Name);
            }
            else if (g.Span.Name is "agent.KernelModulesDeferred")
            {
                // Loaded once the agent listened, beside the calls after the boot: under the run, not the boot's wait.
                Assert.Equal("shim.Run", parent.Span.Name);
            }
            else Assert.Equal(ShimTracing.GuestServiceName, parent.ServiceName);

            // Corrected onto the host's clock (or placed on it from the guest's boot clock), the guest span lies inside
            // its parent, within the correction's stated uncertainty.
            var attrs = g.Span.Attributes.ToDictionary(a => a.Key, a => a.Value);
            Assert.True(attrs.ContainsKey("nerdbox.clock.offset_ns") || attrs.ContainsKey("nerdbox.derived_from"), g.Span.Name);
            var slack = (ulong)attrs["nerdbox.clock.uncertainty_ns"].IntValue;
            Assert.True(g.Span.StartTimeUnixNano + slack >= parent.Span.StartTimeUnixNano,
                $"{g.Span.Name} starts {(long)(parent.Span.StartTimeUnixNano - g.Span.StartTimeUnixNano) / 1000} us before its parent {parent.Span.Name}");
            Assert.True(g.Span.EndTimeUnixNano <= parent.Span.EndTimeUnixNano + slack,
                $"{g.Span.Name} ends {(long)(g.Span.EndTimeUnixNano - parent.Span.EndTimeUnixNano) / 1000} us after its parent {parent.Span.Name}");
        }

        // Each module load is a span: the channel's before the agent served, the overlay's after, beside its first calls. The
        // sample's small rootfs came in the initramfs, so the VM has no disk and loads none of its drivers.
        string[] ModulesUnder(string parentName)
        {
            var parentId = TracedRun.Hex(guest.Single(g => g.Span.Name == parentName).Span.SpanId);
            return [.. guest.Where(g => TracedRun.Hex(g.Span.ParentSpanId) == parentId).Select(g => g.Span.Name)];
        }
        var beforeServing = ModulesUnder("agent.KernelModules");
        var deferred = ModulesUnder("agent.KernelModulesDeferred");
        Assert.Subset(beforeServing.ToHashSet(), new[] { "agent.KernelModule.virtio_ring", "agent.KernelModule.virtio", "agent.KernelModule.virtio_mmio" }.ToHashSet());
        Assert.Equal(["agent.KernelModule.overlay"], deferred);
        Assert.Empty(beforeServing.Intersect(deferred));
        Assert.All(guest.Where(g => g.Span.Name.StartsWith("agent.KernelModule.", StringComparison.Ordinal)), g =>
            Assert.Equal(g.Span.Name["agent.KernelModule.".Length..], g.Span.Attributes.Single(a => a.Key == "nerdbox.kernel.module").Value.StringValue));

        // On this one-CPU guest the initramfs unpack overlaps the initcall levels: each level it overlapped says for how long.
        var unpack = guest.Single(g => g.Span.Name == "kernel.InitramfsUnpack").Span;
        var shared = guest.Where(g => g.Span.Attributes.Any(a => a.Key == SharedCpuAttributes.With)).ToList();
        Assert.Contains(shared, g => g.Span.Name.StartsWith("kernel.Initcalls.", StringComparison.Ordinal));
        Assert.All(shared, g =>
        {
            var attrs = g.Span.Attributes.ToDictionary(a => a.Key, a => a.Value);
            Assert.Equal("kernel.InitramfsUnpack", attrs[SharedCpuAttributes.With].StringValue);
            var overlapMs = (Math.Min(g.Span.EndTimeUnixNano, unpack.EndTimeUnixNano) - (double)Math.Max(g.Span.StartTimeUnixNano, unpack.StartTimeUnixNano)) / 1e6;
            Assert.InRange(attrs[SharedCpuAttributes.Ms].DoubleValue, 0.001, (g.Span.EndTimeUnixNano - g.Span.StartTimeUnixNano) / 1e6 + 0.001);
            Assert.InRange(attrs[SharedCpuAttributes.Ms].DoubleValue, overlapMs - 1, overlapMs + 1);
        });

        // Host spans nest too: each one's parent is in the trace and was still open when the child began.
        foreach (var h in host.Where(h => h.Span.Name != "shim.Run"))
        {
            var parent = byId[TracedRun.Hex(h.Span.ParentSpanId)];
            Assert.InRange(h.Span.StartTimeUnixNano, parent.Span.StartTimeUnixNano, parent.Span.EndTimeUnixNano);
        }

        // The host names the guest's resource, with the environment's attributes but its own identity, and the relay's counts reach the trace.
        Assert.All(guest, g =>
        {
            var resource = g.Resource.Attributes.ToDictionary(a => a.Key, a => a.Value.StringValue);
            Assert.Equal("traced", resource["service.instance.id"]);
            Assert.Equal(run.Agent!.AgentVersion, resource["service.version"]);
            Assert.Equal("boot test", resource["deployment.environment.name"]);
        });
        AssertStandardAttributes(spans, run);
        var delete = host.Single(s => s.Span.Name == "shim.Delete").Span.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal(0, delete["nerdbox.guest.spans_dropped"].IntValue);
        Assert.Equal(0, delete["nerdbox.relay.spans_dropped"].IntValue);
        Assert.True(delete["nerdbox.relay.complete"].BoolValue);
        Assert.Equal(guest.Count, delete["nerdbox.relay.spans_forwarded"].IntValue);

        // The real trace, rendered by the viewer as a Mermaid gantt, parses with Mermaid's own parser, one task a span.
        var model = await new Nerdbox.TraceViewer.Sources.InMemoryOtlpSource(traced.Receiver.Batches).GetAsync(run.TraceId, default);
        var chart = Nerdbox.Shim.Cli.TraceCommand.Render(model, "mermaid");
        var report = await TraceViewer.MermaidCheck.AssertParsesAsync(chart);
        Assert.Equal(spans.Count, report.Tasks!.Count);
        Assert.Contains(report.Tasks, t => t.Name.Contains("crun.Start"));
    }

    [Fact]
    public async Task A_bad_bundle_still_yields_a_complete_trace_with_the_failure_marked()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("bad", "true");
        File.WriteAllText(Path.Combine(bundle, "config.json"), "not json");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks };

        var traceId = await FailingRunTraceId(() => TaskRun.RunAsync("bad", bundle, options));
        var spans = await traced.CollectAsync(traceId, s => s.Any(x => x.Span.Name == "shim.Run"));
        AssertFailed(spans, "shim.Run", "shim.BundleLoad");
        Assert.Equal(0, traced.OpenHostSpans(traceId));
    }

    [Fact]
    public async Task An_agent_timeout_still_yields_a_complete_trace_with_the_failure_marked()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("silent", "true");
        var options = await scratch.OptionsAsync(fixture, TimeSpan.FromSeconds(8)) with
        {
            GuestSpanSink = traced.Sinks,
            InitPath = "/bin/busybox",
            InitArgs = ["sleep", "600"],
        };
        var traceId = await FailingRunTraceId(() => TaskRun.RunAsync("silent", bundle, options));
        var spans = await traced.CollectAsync(traceId, s => s.Any(x => x.Span.Name == "shim.Run"));
        AssertFailed(spans, "shim.Run", "shim.VMBoot", "vm.WaitForAgent");
        Assert.Equal(0, traced.OpenHostSpans(traceId));
    }

    [Fact]
    public async Task A_killed_VMM_still_yields_a_complete_trace_with_the_failure_marked()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("killed", "sh", "-c", "sleep 120");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks };
        string traceId;
        using (var root = ShimTracing.Source.StartActivity("shim.Run"))
        {
            traceId = root!.TraceId.ToString();
            await using var task = await VmTask.CreateAsync("killed", bundle, options);
            await task.StartAsync();
            var wait = task.WaitAsync();
            // The guest's spans so far reach the host first; whatever is still in the guest when it is killed is lost with it.
            Assert.True(await task.Relay!.DrainAsync(TimeSpan.FromSeconds(20)));
            System.Diagnostics.Process.GetProcessById(task.Vm!.ProcessId!.Value).Kill();
            var e = await Assert.ThrowsAsync<VmException>(() => wait);
            root.Fail(e);
        }
        var spans = await traced.CollectAsync(traceId, s => s.Any(x => x.Span.Name == "shim.Run") && s.Any(x => x.Span.Name == "task.Start"));
        AssertFailed(spans, "shim.Run", "shim.Wait");
        Assert.Equal(0, traced.OpenHostSpans(traceId));
    }

    [Fact]
    public async Task With_the_sdk_disabled_no_guest_span_leaves_the_host()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("untraced", "sh", "-c", "echo untraced");
        var otel = HostOtelEnvironmentTests.From(null, disabled: "TRUE");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks, Otel = otel };
        Assert.DoesNotContain(KernelBootPhases.LevelTraceArgs[0], options.GuestKernelArgs);

        var run = await TaskRun.RunAsync("untraced", bundle, options);
        Assert.Equal(0, run.ExitStatus);
        Assert.Null(run.Relay);
        // The host's spans here come from the test's own provider, which the option does not switch off: they show the run is over.
        await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "shim.Run"));
        Assert.DoesNotContain(traced.Receiver.Spans, s => s.ServiceName == ShimTracing.GuestServiceName);
    }

    /// <summary>Standard keys where OpenTelemetry has them, on both sides.</summary>
    private static void AssertStandardAttributes(IReadOnlyList<ReceivedSpan> spans, TaskRun.Outcome run)
    {
        Dictionary<string, AnyValue> Of(string name) => Assert.Single(spans, s => s.Span.Name == name).Span.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Equal("traced", Of("shim.Run")["container.id"].StringValue);
        Assert.Equal(run.ExitStatus, Of("shim.Run")["process.exit.code"].IntValue);
        Assert.Equal(run.ExitStatus, Of("shim.Wait")["process.exit.code"].IntValue);
        Assert.Equal(run.ExitStatus, Of("task.Wait")["process.exit.code"].IntValue);
        var pid = Of("shim.TaskCreate")["process.pid"].IntValue;
        Assert.True(pid > 0);
        Assert.Equal(pid, Of("shim.Start")["process.pid"].IntValue);
        Assert.Equal(pid, Of("crun.Create")["process.pid"].IntValue);
        foreach (var name in new[] { "task.Create", "task.Start", "task.Wait", "task.Delete" }) Assert.Equal("traced", Of(name)["container.id"].StringValue);
        foreach (var name in new[] { "crun.Create", "crun.Start", "crun.Delete" })
        {
            Assert.Equal("crun", Of(name)["container.runtime.name"].StringValue);
            Assert.Equal("traced", Of(name)["container.id"].StringValue);
            // crun's own CPU time, user and system: some in all, and together no more than the span's time, which it
            // spent on the guest's one CPU (1 ms for the rounding of both). The kernel splits a process's run time
            // between user and system by the timer ticks that fell in each, so a short run can show 0 for either.
            var span = Assert.Single(spans, s => s.Span.Name == name).Span;
            var user = Of(name)["nerdbox.process.cpu.user_ms"].DoubleValue;
            var system = Of(name)["nerdbox.process.cpu.system_ms"].DoubleValue;
            Assert.True(user >= 0 && system >= 0 && user + system > 0, $"{name}: user {user} ms, system {system} ms");
            Assert.InRange(user + system, 0, (span.EndTimeUnixNano - span.StartTimeUnixNano) / 1e6 + 1);
        }
        Assert.Equal("overlay", Of("mount.Overlay")["system.filesystem.type"].StringValue);
        Assert.EndsWith("/rootfs", Of("mount.Overlay")["system.filesystem.mountpoint"].StringValue);
        Assert.DoesNotContain(spans.SelectMany(s => s.Span.Attributes), a => a.Key is "nerdbox.task.id" or "nerdbox.task.pid" or "nerdbox.task.exit_status" or "nerdbox.container.pid");
    }

    private static async Task<string> FailingRunTraceId(Func<Task> run)
    {
        string? traceId = null;
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == ShimTracing.SourceName,
            ActivityStarted = a => { if (a.DisplayName == "shim.Run") traceId ??= a.TraceId.ToString(); },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        await Assert.ThrowsAnyAsync<Exception>(run);
        return traceId ?? throw new InvalidOperationException("no root span");
    }

    private static void AssertFailed(IReadOnlyList<ReceivedSpan> spans, params string[] names)
    {
        foreach (var name in names)
        {
            var span = Assert.Single(spans, s => s.Span.Name == name).Span;
            Assert.Equal(Status.Types.StatusCode.Error, span.Status?.Code);
            Assert.False(string.IsNullOrEmpty(span.Status!.Message), $"{name} has no error message");
        }
    }
}
