using System.Globalization;
using Nerdbox.TraceViewer.Analysis;

namespace Nerdbox.TraceViewer.Rendering;

/// <summary>The output formats of a trace diff, by the names the CLI accepts.</summary>
public static class TraceDiffRendering
{
    public static readonly IReadOnlyList<string> Formats = ["tree", "markdown", "mermaid"];

    /// <summary>
    /// <c>tree</c>: both traces' spans as one indented tree with both durations and the change;
    /// <c>markdown</c>: a table of the same, for a pull request; <c>mermaid</c>: a gantt chart with a section per run.
    /// </summary>
    public static string Render(TraceDiff diff, string format) => format switch
    {
        "tree" => TraceDiffTree.Render(diff),
        "markdown" => TraceDiffMarkdown.Render(diff),
        "mermaid" => TraceDiffGantt.Render(diff),
        _ => throw new ArgumentException($"unknown format '{format}' (want {string.Join(", ", Formats)})"),
    };

    /// <summary>A change in milliseconds with its sign: <c>+1.500</c>, <c>-0.250</c>, <c>+0.000</c>.</summary>
    internal static string SignedMs(double ms) => Signed(ms, 3, "");

    /// <summary>A change in percent, one decimal, with its sign; <c>n/a</c> when there is no base to compare with.</summary>
    internal static string SignedPercent(double? percent) => percent is { } p ? Signed(p, 1, "%") : "n/a";

    /// <summary>A duration, or <c>-</c> for a side that lacks the span.</summary>
    internal static string Ms(double? ms) => ms is { } m ? TreeRenderer.Ms(m) : "-";

    private static string Signed(double value, int decimals, string unit)
    {
        // Adding 0.0 turns a rounded -0 into 0, which would otherwise print as "-0.000".
        var rounded = Math.Round(value, decimals) + 0.0;
        var text = rounded.ToString("0." + new string('0', decimals), CultureInfo.InvariantCulture);
        return (rounded >= 0 ? "+" : "") + text + unit;
    }
}
