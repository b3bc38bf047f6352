using Nerdbox.Shim.Cli;
using Nerdbox.TraceViewer.Rendering;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>The gantt chart survives span names that are Mermaid syntax, and the check that says so can fail.</summary>
public sealed class MermaidGanttParsesWithMermaid
{
    private static readonly string[] Awkward =
    [
        "GET /api/v1: list; #1 at 100%",
        "section looks like a keyword",
        "title: also a keyword",
        "<b>bold</b> & \"quoted\" {braces} [brackets]",
        "line\nbreak\ttab",
        "",
        "%% not a comment",
        "click me",
        "a,b,c",
        "émoji 🚀 名前",
        new string('x', 200),
        "crun.create",
    ];

    [Fact]
    public async Task Span_names_full_of_mermaid_syntax_still_give_one_task_each_at_the_right_times()
    {
        // Each awkward name is a section head (child of the root) with an awkward-named grandchild under it.
        var spans = new List<S> { new(1, null, "dateFormat YYYY", 0, 1000) };
        for (var i = 0; i < Awkward.Length; i++)
        {
            spans.Add(new S(10 + i, 1, Awkward[i], 10 * i, 10 * i + 5, Error: i == 3));
            spans.Add(new S(100 + i, 10 + i, Awkward[i], 10 * i + 1, 10 * i + 1)); // zero length
        }
        var trace = await TraceAsync(spans.ToArray());
        var chart = TraceCommand.Render(trace, "mermaid");

        var report = await MermaidCheck.AssertParsesAsync(chart);

        Assert.Equal("gantt", report.Type);
        Assert.StartsWith("Trace " + TraceId, report.Title);
        var tasks = report.Tasks!;
        Assert.Equal(trace.Spans.Count, tasks.Count);
        Assert.Equal(trace.Spans.Select((_, i) => $"s{i + 1}"), tasks.Select(t => t.Id));
        for (var i = 0; i < trace.Spans.Count; i++)
        {
            var span = trace.Spans[i];
            var task = tasks[i];
            var start = (long)Math.Floor(trace.OffsetMs(span.StartUnixNano));
            Assert.Equal(start, task.Start);
            Assert.Equal(Math.Max(start + 1, (long)Math.Ceiling(trace.OffsetMs(span.EndUnixNano))), task.End);
            Assert.DoesNotContain(':', task.Name);
            Assert.DoesNotContain('#', task.Name);
            Assert.DoesNotContain(';', task.Name);
            Assert.Equal(span.IsError, task.Classes.Contains("crit"));
        }
        Assert.Equal(1 + Awkward.Length, tasks.Select(t => t.Section).Distinct().Count());
        Assert.Contains(tasks, t => t.Name.Trim() == "GET /api/v1. list, No.1 at 100 pct");
        Assert.Contains(tasks, t => t.Name.Trim() == "span section looks like a keyword");
        Assert.Contains(tasks, t => t.Name.Trim() == "(unnamed)");
        Assert.Contains(tasks, t => t.Name.Trim() == "émoji 🚀 名前");
        Assert.All(tasks, t => Assert.True(t.Name.Trim().Length <= 60));
    }

    [Fact]
    public async Task The_parser_rejects_broken_charts_so_the_check_can_fail()
    {
        const string good = "gantt\n    dateFormat x\n    section a\n    fine :s1, 0, 5\n";
        const string syntax = "gantt\n    dateFormat x\n    section a\n    fine :s1, 0, 5\n    t2 , ,:\n";
        const string backwards = "gantt\n    dateFormat x\n    section a\n    backwards :s1, 50, 5\n";
        const string unknown = "ganttt\n    dateFormat x\n";

        var reports = await MermaidCheck.ParseAsync(good, syntax, backwards, unknown);

        Assert.True(reports[0].Ok, reports[0].Error);
        Assert.False(reports[1].Ok);
        Assert.Contains("Parse error", reports[1].Error);
        Assert.False(reports[2].Ok);
        Assert.Contains("no usable time range", reports[2].Error);
        Assert.False(reports[3].Ok);
    }

    [Fact]
    public void Text_replaces_what_mermaid_would_read_as_syntax()
    {
        Assert.Equal("a. b, c No.1 d pct (x) 'q'", MermaidGanttRenderer.Text("a: b; c #1 d% <x> \"q\"", 60));
        Assert.Equal("span Section 2", MermaidGanttRenderer.Text("Section 2", 60));
        Assert.Equal("sections are fine", MermaidGanttRenderer.Text("sections are fine", 60));
        Assert.Equal("abcd…", MermaidGanttRenderer.Text("abcdefgh", 5));
    }

    [Fact]
    public async Task Markdown_format_wraps_the_chart_for_a_pull_request()
    {
        var trace = await TraceAsync(new S(1, null, "shim.Run", 0, 12), new S(2, 1, "shim.VMBoot", 1, 10));

        var md = TraceCommand.Render(trace, "markdown");

        Assert.StartsWith("```mermaid\ngantt\n", md);
        var chart = md["```mermaid\n".Length..md.IndexOf("```", 3, StringComparison.Ordinal)];
        Assert.Equal(2, (await MermaidCheck.AssertParsesAsync(chart)).Tasks!.Count);
        Assert.Contains("<details>", md);
        Assert.Contains("critical path", md);
    }
}
