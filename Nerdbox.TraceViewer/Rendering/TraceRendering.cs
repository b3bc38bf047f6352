using Nerdbox.TraceViewer.Rendering;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Rendering;

/// <summary>The output formats of the viewer, by the names the CLI accepts.</summary>
public static class TraceRendering
{
    public static readonly IReadOnlyList<string> Formats = ["tree", "mermaid", "markdown"];

    /// <summary>
    /// <c>tree</c>: indented text with the critical path; <c>mermaid</c>: the bare gantt chart;
    /// <c>markdown</c>: the chart in a <c>```mermaid</c> block with the tree folded below it, ready to paste into a PR.
    /// </summary>
    public static string Render(TraceModel trace, string format) => format switch
    {
        "tree" => TreeRenderer.Render(trace),
        "mermaid" => MermaidGanttRenderer.Render(trace),
        "markdown" => "```mermaid\n" + MermaidGanttRenderer.Render(trace) + "```\n\n<details><summary>Spans and critical path</summary>\n\n```\n"
                      + TreeRenderer.Render(trace) + "```\n\n</details>\n",
        _ => throw new ArgumentException($"unknown format '{format}' (want {string.Join(", ", Formats)})"),
    };
}
