using Nerdbox.Shim.Cli;
using Nerdbox.Shim.TraceViewer;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>The critical path: from the root, always the child that ends last, with each span's self time on it.</summary>
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
    public async Task The_chain_is_root_then_the_last_ending_child_at_each_level()
    {
        var path = CriticalPath.Of(await Sample());

        Assert.Equal(["root", "B", "B2"], path.Select(s => s.Span.Name));
        // root: 100 ms less the 70 ms inside B; B: 70 less the 38 inside B2; B2: all 38.
        Assert.Equal([30.0, 32.0, 38.0], path.Select(s => Math.Round(s.SelfMs, 6)));
    }

    [Fact]
    public async Task The_tree_stars_exactly_the_critical_path_and_summarises_it()
    {
        var tree = TraceCommand.Render(await Sample(), "tree");
        var lines = tree.Split('\n');

        var starred = lines.Where(l => l.StartsWith("* ")).Select(l => l.Split("  ", StringSplitOptions.RemoveEmptyEntries)[^1].Trim()).ToList();
        Assert.Equal(["root", "B", "B2"], starred);
        var summary = lines.SkipWhile(l => !l.StartsWith("critical path")).Skip(1).Where(l => l.Length > 0).ToList();
        Assert.Equal(3, summary.Count);
        Assert.Matches(@"^\s+30\.000 ms self\s+nerdbox\s+root$", summary[0]);
        Assert.Matches(@"^\s+38\.000 ms self\s+nerdbox-vm\s+B2$", summary[2]);
        // Children by start time: A (0), B (20), C (40); B's children B1 (25), B2 (50).
        Assert.Equal(["root", "A", "B", "B1", "B2", "C"], lines.Where(l => l.Contains("+")).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]));
        Assert.Contains("+20.000     70.000  nerdbox       B", tree);
    }

    [Fact]
    public async Task The_gantt_marks_the_critical_path_active()
    {
        var report = await MermaidCheck.AssertParsesAsync(TraceCommand.Render(await Sample(), "mermaid"));

        Assert.Equal(["root (nerdbox)", "B (nerdbox)", "· B2 (nerdbox-vm)"],
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
        // Only overlap inside the parent counts: 40-35=5, 40-39=1, and the leaf's full 54.
        Assert.Equal([5.0, 1.0, 54.0], path.Select(s => Math.Round(s.SelfMs, 6)));
        Assert.All(path, s => Assert.True(s.SelfMs >= 0));

        await MermaidCheck.AssertParsesAsync(TraceCommand.Render(trace, "mermaid"));
    }

    [Fact]
    public async Task With_several_roots_the_path_starts_at_the_one_that_ends_last()
    {
        var trace = await TraceAsync(new S(1, null, "early", 0, 10), new S(2, 99, "late orphan", 5, 20), new S(3, 2, "tail", 6, 19));

        Assert.Equal(["late orphan", "tail"], CriticalPath.Of(trace).Select(s => s.Span.Name));
    }
}
