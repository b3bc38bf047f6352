using Nerdbox.TraceViewer.Sources;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>
/// <c>trace diff</c>'s analysis and output: spans matched by path and repeat number, critical path first and
/// then the largest change, spans on one side only, a warning for different environments, three formats.
/// </summary>
public sealed class TraceDiffComparesTwoRuns : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly TwoBoots _boots = new();

    public void Dispose() => _boots.Dispose();

    private async Task<TraceDiff> DiffAsync() =>
        TraceDiff.Of(await new OtlpFileSource(_boots.FileA).GetAsync(null, Ct), await new OtlpFileSource(_boots.FileB).GetAsync(null, Ct));

    [Fact]
    public async Task Spans_are_matched_by_path_and_repeat_number_among_same_named_siblings()
    {
        var diff = await DiffAsync();

        var waits = diff.Matched.Where(m => m.Path.Text.StartsWith("nerdbox.Run/task.Wait")).OrderBy(m => m.Path.Text).ToList();
        Assert.Equal(["nerdbox.Run/task.Wait", "nerdbox.Run/task.Wait[2]"], waits.Select(m => m.Path.Text));
        // The first wait in start order matches the first, the second the second: 19 → 29 ms and 19 → 5 ms.
        Assert.Equal([(19.0, 29.0), (19.0, 5.0)], waits.Select(m => (m.A!.DurationMs, m.B!.DurationMs)));
        Assert.Equal([10.0, -14.0], waits.Select(m => m.DeltaMs));
        var agent = diff.Matched.Single(m => m.Path.Text == "nerdbox.Run/shim.VMBoot/vm.WaitForAgent");
        Assert.Equal((200.0, 48.0, -152.0), (agent.A!.DurationMs, agent.B!.DurationMs, agent.DeltaMs));
        Assert.Equal(-76.0, agent.DeltaPercent!.Value, 9);
        Assert.Equal(2, agent.Path.Depth);
    }

    [Fact]
    public async Task Critical_path_spans_of_either_side_come_first_then_the_rest_each_by_largest_change()
    {
        var diff = await DiffAsync();

        Assert.Equal(
        [
            "nerdbox.Run/shim.VMBoot/vm.WaitForAgent", // -152
            "nerdbox.Run/shim.VMBoot",                 // -100
            "nerdbox.Run/shim.Start",                  // +60
            "nerdbox.Run/shim.VMBoot/vm.Start",        // +52
            "nerdbox.Run",                             // -50
            "nerdbox.Run/task.Wait[2]",                // -14
            "nerdbox.Run/task.Wait",                   // +10
            "nerdbox.Run/probe",                       // 0, on B's critical path only
            "nerdbox.Run/metrics.Flush",               // -40, on neither
            "nerdbox.Run/cache.Check",                 // +1, on neither
        ], diff.Matched.Select(m => m.Path.Text));
        Assert.Equal(8, diff.Matched.Count(m => m.OnCriticalPath));
    }

    [Fact]
    public async Task Spans_on_one_side_only_are_listed_per_side()
    {
        var diff = await DiffAsync();

        Assert.Equal(["nerdbox.Run/old.Step"], diff.OnlyInA.Select(s => s.Path.Text));
        Assert.Equal(["nerdbox.Run/task.Wait[3]", "nerdbox.Run/shim.Start/new.Step"], diff.OnlyInB.Select(s => s.Path.Text));
        Assert.All(diff.OnlyInA, s => Assert.Null(s.B));
        Assert.All(diff.OnlyInB, s => Assert.Null(s.A));
    }

    [Fact]
    public async Task Different_accelerators_and_images_are_warned_about_but_a_value_one_side_lacks_is_not()
    {
        var diff = await DiffAsync();

        Assert.Equal(
        [
            "A and B differ in nerdbox.vm.accelerator: A kvm, B tcg; their timings may not compare",
            "A and B differ in nerdbox.image.id: A img-1, B img-2; their timings may not compare",
        ], diff.Warnings);
    }

    [Fact]
    public async Task The_same_environment_gives_no_warning_and_one_trace_twice_says_so()
    {
        var a = await new OtlpFileSource(_boots.FileA).GetAsync(null, Ct);

        var diff = TraceDiff.Of(a, a);

        Assert.Equal([$"A and B are the same trace ({TwoBoots.TraceA})"], diff.Warnings);
        Assert.All(diff.Matched, m => Assert.Equal(0, m.DeltaMs));
        Assert.Empty(diff.OnlyInA);
    }

    [Fact]
    public async Task The_tree_shows_both_durations_and_the_change_with_siblings_ranked()
    {
        var tree = TraceDiffRendering.Render(await DiffAsync(), "tree");
        var lines = tree.Split('\n');

        Assert.StartsWith($"diff: A trace {TwoBoots.TraceA} (400.000 ms, 11 spans), B trace {TwoBoots.TraceB} (350.000 ms, 12 spans); B - A = -50.000 ms (-12.5%)\n", tree);
        Assert.Contains("warning: A and B differ in nerdbox.vm.accelerator: A kvm, B tcg; their timings may not compare", lines);
        Assert.Contains("*    200.000     48.000   -152.000   -76.0%      vm.WaitForAgent", lines);
        Assert.Contains("      50.000     10.000    -40.000   -80.0%    metrics.Flush", lines);
        Assert.Contains("*          -     10.000    +10.000      n/a      new.Step  [only in B]", lines);
        Assert.Contains("*      9.000          -     -9.000      n/a    old.Step  [only in A]", lines);

        // The span column starts after the marker and four number columns (2 + 10 + 1 + 10 + 1 + 10 + 1 + 8 + 2).
        var steps = lines.SkipWhile(l => !l.EndsWith("  span")).Skip(1).TakeWhile(l => l.Length > 0)
            .Select(l => l[45..].Split("  [")[0].Trim()).ToList();
        Assert.Equal(["nerdbox.Run", "shim.VMBoot", "vm.WaitForAgent", "vm.Start", "shim.Start", "new.Step", "task.Wait[2]", "task.Wait",
            "old.Step", "task.Wait[3]", "probe", "metrics.Flush", "cache.Check"], steps);
        Assert.Contains("only in B (2):", lines);
        Assert.Contains("      10.000 ms  nerdbox.Run/shim.Start/new.Step", lines);
    }

    [Fact]
    public async Task Markdown_is_a_table_in_the_diffs_order_with_the_one_sided_spans_below()
    {
        var diff = await DiffAsync();
        var markdown = TraceDiffRendering.Render(diff, "markdown");
        var rows = markdown.Split('\n').Where(l => l.StartsWith("| ")).ToList();

        Assert.Equal("| critical path | span | A ms | B ms | delta ms | delta % |", rows[0]);
        Assert.Equal(diff.Matched.Select(m => m.Path.Text), rows.Skip(1).Select(r => r.Split('`')[1]));
        Assert.Equal("| * | `nerdbox.Run/shim.VMBoot/vm.WaitForAgent` | 200.000 | 48.000 | -152.000 | -76.0% |", rows[1]);
        Assert.Equal("|  | `nerdbox.Run/cache.Check` | 1.000 | 2.000 | +1.000 | +100.0% |", rows[^1]);
        Assert.Contains("> **Warning:** A and B differ in nerdbox.image.id: A img-1, B img-2; their timings may not compare\n", markdown);
        Assert.Contains("**Only in A:**\n- `nerdbox.Run/old.Step` (9.000 ms)\n", markdown);
        Assert.Contains("- `nerdbox.Run/shim.Start/new.Step` (10.000 ms)\n", markdown);
    }

    [Fact]
    public async Task The_gantt_has_a_section_per_run_and_parses_with_mermaid()
    {
        var diff = await DiffAsync();

        var report = await MermaidCheck.AssertParsesAsync(TraceDiffRendering.Render(diff, "mermaid"));

        var tasks = report.Tasks!;
        Assert.Equal(["A (400.000 ms)", "B (350.000 ms)"], tasks.Select(t => t.Section).Distinct());
        Assert.Equal(11, tasks.Count(t => t.Section.StartsWith('A')));
        Assert.Equal(12, tasks.Count(t => t.Section.StartsWith('B')));
        var agentB = tasks.Single(t => t.Section.StartsWith('B') && t.Name.Contains("vm.WaitForAgent"));
        Assert.Equal(("· · vm.WaitForAgent (-152.000 ms)", 152L, 200L), (agentB.Name.Trim(), agentB.Start, agentB.End));
        Assert.Contains("active", agentB.Classes);
        Assert.Contains(tasks, t => t.Section.StartsWith('A') && t.Name.Trim() == "· old.Step (only in A)");
        Assert.Contains(tasks, t => t.Section.StartsWith('B') && t.Name.Trim() == "· · new.Step (only in B)");
        // Repeats carry their number (brackets are Mermaid syntax, so made round), so the bars of the two sections pair up.
        Assert.Equal(["· task.Wait (+10.000 ms)", "· task.Wait(2) (-14.000 ms)", "· task.Wait(3) (only in B)"],
            tasks.Where(t => t.Section.StartsWith('B') && t.Name.Contains("task.Wait")).Select(t => t.Name.Trim()));
        // probe is on B's critical path only, so it is active in B and not in A.
        Assert.Equal([false, true], tasks.Where(t => t.Name.Contains("probe")).Select(t => t.Classes.Contains("active")));
    }

    [Fact]
    public async Task Names_that_mermaid_or_markdown_would_misread_are_made_safe()
    {
        var a = await TraceAsync(new S(1, null, "nerdbox.shim.v1.Task/Create", 0, 10), new S(2, 1, "a|b: c#d`e", 1, 4));
        var b = await TraceAsync(new S(1, null, "nerdbox.shim.v1.Task/Create", 0, 12), new S(2, 1, "a|b: c#d`e", 1, 6));

        var diff = TraceDiff.Of(a, b);

        Assert.Equal(2, diff.Matched.Count);
        await MermaidCheck.AssertParsesAsync(TraceDiffRendering.Render(diff, "mermaid"));
        Assert.Contains("| `nerdbox.shim.v1.Task/Create/a\\|b: c#d'e` |", TraceDiffRendering.Render(diff, "markdown"));
    }
}
