using Nerdbox.Shim.Cli;
using Nerdbox.TraceViewer;
using Nerdbox.Telemetry.Tracing;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>
/// The critical path, by Jaeger's rule: back from the end, the child that ends last, then the child that
/// ended last at or before that one's start, and so on; a child still running at that point is not taken.
/// Each span's self time is the path time no taken child of it covers.
/// </summary>
public sealed class CriticalPathFollowsTheChildThatEndsLast
{
    private static Task<TraceModel> Sample() => TraceAsync(
        new S(1, null, "root", 0, 100),
        new S(2, 1, "A", 0, 30),
        new S(3, 1, "B", 20, 90),
        new S(4, 3, "B1", 25, 50),
        new S(5, 3, "B2", 50, 88, "nerdbox-vm"),
        new S(6, 1, "C", 40, 60));

    [Fact]
    public async Task The_path_follows_the_last_ending_child_and_what_ran_before_it()
    {
        var path = CriticalPath.Of(await Sample());

        // root→B→B2 is the chain of last-ending children; B1 ended (at 50) when B2 started, so it is on the path too.
        // A (0-30) was still running when B started at 20, so it is not taken: root waited 0-20 itself.
        // C (40-60) runs under B's shadow and is off the path.
        Assert.Equal(["root", "B", "B1", "B2"], path.Select(s => s.Span.Name));
        // root: 90-100 after B and 0-20 before it; B: 20-25 and 88-90; B1 25-50; B2 50-88.
        Assert.Equal([30.0, 7.0, 25.0, 38.0], path.Select(s => Math.Round(s.SelfMs, 6)));
        Assert.Equal(100.0, path.Sum(s => s.SelfMs), 6);
    }

    [Fact]
    public async Task The_tree_stars_exactly_the_critical_path_and_summarises_it()
    {
        var tree = TraceCommand.Render(await Sample(), "tree");
        var lines = tree.Split('\n');

        var starred = lines.Where(l => l.StartsWith("* ")).Select(l => l.Split("  ", StringSplitOptions.RemoveEmptyEntries)[^1].Trim()).ToList();
        Assert.Equal(["root", "B", "B1", "B2"], starred);
        Assert.Contains("critical path, 100.000 of 100.000 ms", tree);
        var summary = lines.SkipWhile(l => !l.StartsWith("critical path")).Skip(1).Where(l => l.Length > 0).ToList();
        Assert.Equal(4, summary.Count);
        Assert.Matches(@"^\s+30\.000 ms self\s+nerdbox\s+root$", summary[0]);
        Assert.Matches(@"^\s+38\.000 ms self\s+nerdbox-vm\s+B2$", summary[3]);
        // Children by start time: A (0), B (20), C (40); B's children B1 (25), B2 (50).
        Assert.Equal(["root", "A", "B", "B1", "B2", "C"], lines.Where(l => l.Contains("+")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]));
        Assert.Contains("+20.000     70.000  nerdbox       B", tree);
    }

    [Fact]
    public async Task A_step_that_shared_its_one_CPU_says_how_much_of_its_self_time_the_other_span_took()
    {
        // A level (10-90) with one initcall in it (20-50), and the initramfs unpack (5-60) beside them on one CPU; another
        // VM's unpack (0-5, under a root of its own) comes first by start but overlaps neither.
        var batches = Batches(new S(1, null, "root", 0, 100), new S(2, 1, "kernel.Initcalls.device", 10, 90, "nerdbox-vm"),
            new S(3, 2, "kernel.Initcall.slow", 20, 50, "nerdbox-vm"), new S(4, 1, "kernel.InitramfsUnpack", 5, 60, "nerdbox-vm"),
            new S(5, null, "other", 0, 5), new S(6, 5, "kernel.InitramfsUnpack", 0, 5, "nerdbox-vm"));
        foreach (var span in batches.SelectMany(b => b.ScopeSpans).SelectMany(s => s.Spans).Where(s => s.Name.StartsWith("kernel.Initcall", StringComparison.Ordinal)))
            span.Attributes.Add(new OpenTelemetry.Proto.Common.V1.KeyValue { Key = SharedCpuAttributes.With, Value = new() { StringValue = "kernel.InitramfsUnpack" } });
        var trace = await new Nerdbox.TraceViewer.Sources.InMemoryOtlpSource(batches).GetAsync(null, TestContext.Current.CancellationToken);

        var tree = TraceCommand.Render(trace, "tree");

        var summary = tree.Split('\n').SkipWhile(l => !l.StartsWith("critical path")).Skip(1).Where(l => l.Length > 0).ToList();
        Assert.Equal(3, summary.Count);
        Assert.DoesNotContain("shared the CPU", summary[0]);
        // The level's self time is 10-20 and 50-90; the unpack covers 10-20 and 50-60 of it.
        Assert.Matches(@"^\s+50\.000 ms self\s+nerdbox-vm\s+kernel\.Initcalls\.device  \(20\.000 ms of it shared the CPU with kernel\.InitramfsUnpack\)$", summary[1]);
        Assert.Matches(@"^\s+30\.000 ms self\s+nerdbox-vm\s+kernel\.Initcall\.slow  \(30\.000 ms of it shared the CPU with kernel\.InitramfsUnpack\)$", summary[2]);
    }

    [Fact]
    public async Task The_gantt_marks_the_critical_path_active()
    {
        var report = await MermaidCheck.AssertParsesAsync(TraceCommand.Render(await Sample(), "mermaid"));

        Assert.Equal(["root (nerdbox)", "B (nerdbox)", "· B1 (nerdbox)", "· B2 (nerdbox-vm)"],
            report.Tasks!.Where(t => t.Classes.Contains("active")).Select(t => t.Name.Trim()));
        var b = report.Tasks!.Single(t => t.Name.Trim() == "B (nerdbox)");
        Assert.Equal((20L, 90L, "B"), (b.Start, b.End, b.Section));
    }

    [Fact]
    public async Task A_child_skewed_before_its_parent_stays_under_it_and_self_times_stay_non_negative()
    {
        // The guest's clock runs 5 ms behind: its span starts before the host span that caused it.
        var trace = await TraceAsync(
            new S(1, null, "shim.TaskCreate", 10, 50),
            new S(2, 1, "task.Create", 5, 45, "nerdbox-vm"),
            new S(3, 2, "crun.create", 6, 60, "nerdbox-vm"));

        var guest = trace.Span("task.Create");
        Assert.Equal("shim.TaskCreate", guest.Parent!.Name);
        Assert.Equal(0, trace.OffsetMs(guest.StartUnixNano));
        Assert.Equal(5, trace.OffsetMs(trace.Roots[0].StartUnixNano));
        Assert.Contains(trace.Warnings, w => w.Contains("starts 5 ms before its parent"));

        var path = CriticalPath.Of(trace);
        Assert.Equal(["shim.TaskCreate", "task.Create", "crun.create"], path.Select(s => s.Span.Name));
        // Only time inside the parent counts: the host span's 45-50, then the leaf covers 10-45 of its parent.
        Assert.Equal([5.0, 0.0, 35.0], path.Select(s => Math.Round(s.SelfMs, 6)));
        Assert.Equal(40.0, path.Sum(s => s.SelfMs), 6);
        Assert.All(path, s => Assert.True(s.SelfMs >= 0));

        await MermaidCheck.AssertParsesAsync(TraceCommand.Render(trace, "mermaid"));
    }

    [Fact]
    public async Task With_several_roots_the_path_ends_in_the_one_that_ends_last()
    {
        var trace = await TraceAsync(new S(1, null, "early", 0, 10), new S(2, 99, "late orphan", 5, 20), new S(3, 2, "tail", 6, 19));

        var path = CriticalPath.Of(trace);
        // "early" (0-10) still ran when "late orphan" started at 5: not taken, and 0-5 is nobody's.
        Assert.Equal(["late orphan", "tail"], path.Select(s => s.Span.Name));
        Assert.Equal([2.0, 13.0], path.Select(s => Math.Round(s.SelfMs, 6)));
    }

    [Fact]
    public async Task A_sequential_boot_puts_every_step_on_the_path()
    {
        var trace = await TraceAsync(
            new S(1, null, "shim.Run", 0, 400),
            new S(2, 1, "shim.VMBoot", 1, 300),
            new S(3, 1, "shim.TaskCreate", 301, 350),
            new S(4, 3, "task.Create", 302, 349, "nerdbox-vm"),
            new S(5, 1, "shim.Start", 351, 399));

        var path = CriticalPath.Of(trace);

        Assert.Equal(["shim.Run", "shim.VMBoot", "shim.TaskCreate", "task.Create", "shim.Start"], path.Select(s => s.Span.Name));
        Assert.Equal(299.0, path.Single(s => s.Span.Name == "shim.VMBoot").SelfMs, 6);
        Assert.Equal(4.0, path[0].SelfMs, 6); // the four 1 ms gaps between steps
    }

    [Fact]
    public async Task A_child_still_running_when_the_next_step_started_is_off_the_path()
    {
        // image.Pull overlaps vm.Start; bundle.Load ended before vm.Start began. Clipping image.Pull at
        // vm.Start's start (the old rule) put it on the path instead of bundle.Load, which is what vm.Start waited for.
        var trace = await TraceAsync(
            new S(1, null, "nerdbox.Run", 0, 100),
            new S(2, 1, "image.Pull", 0, 60),
            new S(3, 1, "bundle.Load", 10, 30),
            new S(4, 1, "vm.Start", 40, 100));

        var path = CriticalPath.Of(trace);

        Assert.Equal(["nerdbox.Run", "bundle.Load", "vm.Start"], path.Select(s => s.Span.Name));
        // nerdbox.Run: 0-10 and 30-40 (image.Pull ran then, but ended after the point the walk had reached).
        Assert.Equal([20.0, 20.0, 60.0], path.Select(s => Math.Round(s.SelfMs, 6)));
    }

    [Fact]
    public async Task A_step_that_ends_exactly_when_the_next_starts_is_on_the_path()
    {
        // The VM start spans share their boundaries: each ends at the very instant the next begins.
        var trace = await TraceAsync(
            new S(1, null, "shim.VMBoot", 0, 30),
            new S(2, 1, "vm.VMMSpawn", 0, 10),
            new S(3, 1, "vm.KernelBoot", 10, 20),
            new S(4, 1, "vm.AgentStart", 20, 30));

        var path = CriticalPath.Of(trace);

        Assert.Equal(["shim.VMBoot", "vm.VMMSpawn", "vm.KernelBoot", "vm.AgentStart"], path.Select(s => s.Span.Name));
        Assert.Equal([0.0, 10.0, 10.0, 10.0], path.Select(s => Math.Round(s.SelfMs, 6)));
    }

    [Fact]
    public async Task Children_are_cut_to_their_parent_and_those_outside_it_are_dropped_as_jaeger_ui_does()
    {
        var trace = await TraceAsync(
            new S(1, null, "root", 0, 100),
            new S(2, 1, "overruns", 50, 120),
            new S(3, 2, "overruns more", 90, 130),
            new S(4, 1, "after the end", 100, 140),
            new S(5, 1, "early", 5, 20));

        var path = CriticalPath.Of(trace);

        // "overruns" counts as 50-100 and its child as 90-100: the walk of root starts at root's end.
        // "after the end" starts at root's end and is dropped; "early" ended before "overruns" began.
        Assert.Equal(["root", "early", "overruns", "overruns more"], path.Select(s => s.Span.Name));
        Assert.Equal([35.0, 15.0, 40.0, 10.0], path.Select(s => Math.Round(s.SelfMs, 6)));
        Assert.Equal(100.0, path.Sum(s => s.SelfMs), 6);
    }
}
