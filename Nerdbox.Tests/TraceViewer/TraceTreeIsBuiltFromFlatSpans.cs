using Nerdbox.Shim.Cli;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>How flat spans become a tree: parents, orphans, duplicates, empty spans, order.</summary>
public sealed class TraceTreeIsBuiltFromFlatSpans
{
    [Fact]
    public async Task Spans_whose_parent_is_missing_become_marked_roots()
    {
        var trace = await TraceAsync(new S(1, null, "root", 0, 10), new S(2, 7, "lost", 2, 4), new S(3, 2, "under lost", 2.5, 3));

        Assert.Equal(["root", "lost"], trace.Roots.Select(r => r.Name));
        Assert.False(trace.Roots[0].IsOrphan);
        var lost = trace.Roots[1];
        Assert.True(lost.IsOrphan);
        Assert.Equal(SpanId(7), lost.ParentId);
        Assert.Equal("under lost", Assert.Single(lost.Children).Name);
        Assert.Contains($"[parent {SpanId(7)} not in trace]", TraceCommand.Render(trace, "tree"));
    }

    [Fact]
    public async Task Children_are_ordered_by_start_then_name_whatever_the_input_order()
    {
        var trace = await TraceAsync(
            new S(1, null, "root", 0, 10), new S(4, 1, "zeta", 1, 2), new S(3, 1, "beta", 3, 4), new S(2, 1, "alpha", 1, 2));

        Assert.Equal(["root", "alpha", "zeta", "beta"], trace.Spans.Select(s => s.Name));
        Assert.Equal([0, 1, 1, 1], trace.Spans.Select(s => s.Depth));
    }

    [Fact]
    public async Task A_zero_length_span_is_kept_and_drawn_one_millisecond_wide()
    {
        var trace = await TraceAsync(new S(1, null, "root", 0, 10), new S(2, 1, "instant", 4.2, 4.2));

        var instant = trace.Span("instant");
        Assert.Equal(0, instant.DurationMs);
        Assert.Equal(instant.StartUtc, instant.EndUtc);
        Assert.Contains("+4.200      0.000  nerdbox    instant", TraceCommand.Render(trace, "tree"));
        var task = (await MermaidCheck.AssertParsesAsync(TraceCommand.Render(trace, "mermaid"))).Tasks!.Single(t => t.Name.Trim() == "instant");
        Assert.Equal((4L, 5L), (task.Start, task.End));
    }

    [Fact]
    public async Task Identical_duplicates_merge_and_different_spans_sharing_an_id_both_stay()
    {
        var batches = Batches(new S(1, null, "root", 0, 10), new S(2, 1, "child", 1, 2));
        batches.AddRange(Batches(new S(2, 1, "child", 1, 2), new S(2, 1, "impostor", 3, 4)));

        var trace = await new Nerdbox.TraceViewer.Sources.InMemoryOtlpSource(batches).GetAsync(null, TestContext.Current.CancellationToken);

        Assert.Equal(["root", "child", "impostor"], trace.Spans.Select(s => s.Name));
        Assert.Equal(SpanId(2) + "~3", trace.Span("impostor").SpanId);
        Assert.Equal(2, trace.Warnings.Count);
    }

    [Fact]
    public async Task A_parent_cycle_does_not_hang_leaves_one_root_and_is_reported_as_a_cycle()
    {
        var trace = await TraceAsync(new S(1, 2, "a", 1, 9), new S(2, 1, "b", 0, 10));

        Assert.Equal(2, trace.Spans.Count);
        var root = Assert.Single(trace.Roots);
        Assert.Single(root.Children);
        // a was linked under b first; linking b under a is what would close the loop.
        Assert.Equal("b", root.Name);
        Assert.True(root.ClosesParentCycle);
        Assert.False(root.IsOrphan);
        var warning = Assert.Single(trace.Warnings);
        Assert.Equal($"spans 'b' ({SpanId(2)}) → 'a' ({SpanId(1)}) → 'b' ({SpanId(2)}) form a parent cycle (each a child of the next); 'b' ({SpanId(2)}) is shown as a root", warning);
        var tree = TraceCommand.Render(trace, "tree");
        Assert.Contains("b  [parent cycle]", tree);
        Assert.DoesNotContain("not in trace", tree);
    }

    [Fact]
    public async Task A_span_that_is_its_own_parent_is_reported_as_a_cycle()
    {
        var trace = await TraceAsync(new S(1, null, "root", 0, 10), new S(2, 2, "self", 1, 9));

        Assert.Equal(["root", "self"], trace.Roots.Select(r => r.Name));
        var self = trace.Span("self");
        Assert.True(self.ClosesParentCycle);
        Assert.False(self.IsOrphan);
        Assert.Equal($"spans 'self' ({SpanId(2)}) → 'self' ({SpanId(2)}) form a parent cycle (each a child of the next); 'self' ({SpanId(2)}) is shown as a root",
            Assert.Single(trace.Warnings));
        Assert.DoesNotContain(trace.Warnings, w => w.Contains("not in the trace"));
    }
}
