using Nerdbox.Engine.Tasks;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// A real boot's trace explains where the time went: the kernel's boot broken down from its own log,
/// the agent's start, and a critical path that lands on that work rather than on the host's waits.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class BootForensicsTests(GuestImageFixture fixture)
{
    private static readonly string[] KernelPhases = ["kernel.StartKernel", "kernel.Initcalls", "kernel.FreeInitMemory", "kernel.ExecInit"];
    private static readonly string[] Waits = ["vm.WaitForAgent", "vm.ChannelConnect"];

    [Fact]
    public async Task The_kernel_boot_is_broken_down_and_the_critical_path_lands_on_work_not_waits()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("forensics", "sh", "-c", "echo forensics");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks };

        var run = await TaskRun.RunAsync("forensics", bundle, options);
        await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "kernel.Boot") && s.Any(x => x.Span.Name == "shim.Run"));
        var trace = await new InMemoryOtlpSource(traced.Receiver.Batches).GetAsync(run.TraceId, default);

        // The kernel's phases, in order, inside the kernel's span, adding up to no more than it.
        var kernel = Assert.Single(trace.Spans, s => s.Name == "kernel.Boot");
        var phases = kernel.Children.Where(c => KernelPhases.Contains(c.Name)).OrderBy(c => c.StartUnixNano).ToList();
        Assert.Equal(KernelPhases, phases.Select(p => p.Name));
        Assert.All(kernel.Children, c => Assert.InRange(c.StartUnixNano, kernel.StartUnixNano, c.EndUnixNano));
        Assert.All(kernel.Children, c => Assert.InRange(c.EndUnixNano, c.StartUnixNano, kernel.EndUnixNano));
        for (var i = 1; i < phases.Count; i++) Assert.True(phases[i].StartUnixNano >= phases[i - 1].EndUnixNano, $"{phases[i].Name} overlaps {phases[i - 1].Name}");
        Assert.True(phases.Sum(p => p.DurationMs) <= kernel.DurationMs + 0.001, $"phases {phases.Sum(p => p.DurationMs)} ms > kernel {kernel.DurationMs} ms");

        // Each initcall level from the kernel's own log, in the kernel's order.
        var levels = phases[1].Children.Where(c => c.Name.StartsWith(KernelBootPhases.LevelSpanPrefix, StringComparison.Ordinal)).OrderBy(c => c.StartUnixNano).Select(c => c.Name[KernelBootPhases.LevelSpanPrefix.Length..]).ToList();
        Assert.Equal(["early", "pure", "core", "postcore", "arch", "subsys", "fs", "device", "late"], levels);

        // The critical path goes through the kernel and the agent's start.
        var path = CriticalPath.Of(trace);
        var onPath = path.Select(s => s.Span.Name).ToHashSet();
        Assert.Contains("kernel.Boot", onPath);
        Assert.Contains(onPath, n => n.StartsWith(KernelBootPhases.LevelSpanPrefix, StringComparison.Ordinal));
        Assert.Contains("agent.Start", onPath);
        Assert.Contains("agent.ServerStart", onPath);

        // A span that only waits carries no more than a tenth of the boot as its own time.
        var boot = Assert.Single(trace.Spans, s => s.Name == "shim.VMBoot").DurationMs;
        foreach (var step in path.Where(s => Waits.Contains(s.Span.Name)))
            Assert.True(step.SelfMs <= boot / 10, $"{step.Span.Name} has {step.SelfMs:0.0} ms self time of a {boot:0.0} ms boot");
        Assert.Contains(path, s => s.Span.Name == "vm.WaitForAgent");
    }

    [Fact]
    public async Task A_diff_of_two_real_runs_matches_every_span_they_share()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("diff", "sh", "-c", "echo diff");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks };
        var traces = new List<TraceModel>();
        foreach (var id in new[] { "diff-a", "diff-b" })
        {
            var run = await TaskRun.RunAsync(id, bundle, options);
            await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "kernel.Boot") && s.Any(x => x.Span.Name == "shim.Run"));
            traces.Add(await new InMemoryOtlpSource(traced.Receiver.Batches).GetAsync(run.TraceId, default));
        }

        var diff = TraceDiff.Of(traces[0], traces[1]);

        // The same configuration twice: every span has its counterpart, matched by its path of names.
        Assert.Empty(diff.OnlyInA);
        Assert.Empty(diff.OnlyInB);
        Assert.Equal(traces[0].Spans.Count, diff.Matched.Count);
        Assert.Equal(traces[1].Spans.Count, diff.Matched.Count);
        Assert.All(diff.Matched, m => Assert.Equal(m.A!.Name, m.B!.Name));
        Assert.Contains(diff.Matched, m => m.A!.Name == "kernel.Initcalls.device" && m.OnCriticalPath);
        Assert.Empty(diff.Warnings.Where(w => w.Contains("accelerator") || w.Contains("kernel")));
    }

    [Fact]
    public async Task A_trace_says_what_it_ran_on_at_its_root_and_in_the_guest_resource()
    {
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("ranon", "true");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks, VmmVersion = "qemu test version" };

        var run = await TaskRun.RunAsync("ranon", bundle, options);
        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "shim.Run") && s.Any(x => x.Span.Name == "task.Delete"));

        var root = spans.Single(s => s.Span.Name == "shim.Run").Span.Attributes.ToDictionary(a => a.Key, a => a.Value.StringValue);
        var guestResource = spans.First(s => s.ServiceName == Nerdbox.Telemetry.ShimTracing.GuestServiceName).Resource.Attributes.ToDictionary(a => a.Key, a => a.Value.StringValue);
        foreach (var attributes in new[] { root, guestResource })
        {
            Assert.Equal("qemu", attributes["nerdbox.vm.backend"]);
            Assert.Equal(run.Backend.Split('/')[1], attributes["nerdbox.vm.accelerator"]);
            Assert.Equal("qemu test version", attributes["nerdbox.vmm.version"]);
            Assert.Equal(options.Image.InputsHash[..12], attributes["nerdbox.image.id"]);
        }
        // The guest kernel under its standard key where it belongs, the guest's resource; the root keeps a copy.
        Assert.Equal(run.Agent!.KernelRelease, guestResource["os.version"]);
        Assert.Equal("linux", guestResource["os.type"]);
        Assert.Equal(run.Agent!.KernelRelease, root["nerdbox.guest.kernel"]);
        // The guest's own identity: its agent's version, and the VM as the service's instance.
        Assert.Equal(run.Agent!.AgentVersion, guestResource["service.version"]);
        Assert.Equal("ranon", guestResource["service.instance.id"]);
    }
}
