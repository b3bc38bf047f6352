using System.Text;
using Nerdbox.TraceViewer.Analysis;
using static Nerdbox.TraceViewer.Rendering.TraceDiffRendering;

namespace Nerdbox.TraceViewer.Rendering;

/// <summary>
/// A trace diff as a Markdown table for a pull request: one row per span found in both traces, in the diff's
/// order (critical path first, then the largest change), then the spans found on one side only.
/// </summary>
public static class TraceDiffMarkdown
{
    public static string Render(TraceDiff diff)
    {
        var sb = new StringBuilder();
        sb.Append(Escape(TraceDiffTree.Header(diff))).Append("\n\n");
        foreach (var w in diff.Warnings) sb.Append("> **Warning:** ").Append(Escape(w)).Append('\n');
        if (diff.Warnings.Count > 0) sb.Append('\n');

        sb.Append("| critical path | span | A ms | B ms | delta ms | delta % |\n");
        sb.Append("|:-:|---|--:|--:|--:|--:|\n");
        foreach (var s in diff.Matched)
            sb.Append("| ").Append(s.OnCriticalPath ? "*" : "").Append(" | ").Append(Code(s.Path.Text))
              .Append(" | ").Append(Ms(s.A!.DurationMs)).Append(" | ").Append(Ms(s.B!.DurationMs))
              .Append(" | ").Append(SignedMs(s.DeltaMs)).Append(" | ").Append(SignedPercent(s.DeltaPercent)).Append(" |\n");

        OnlyIn("A", diff.OnlyInA.Select(s => (s.Path.Text, s.A!.DurationMs)));
        OnlyIn("B", diff.OnlyInB.Select(s => (s.Path.Text, s.B!.DurationMs)));
        return sb.ToString();

        void OnlyIn(string side, IEnumerable<(string Path, double Ms)> spans)
        {
            var list = spans.ToList();
            sb.Append("\n**Only in ").Append(side).Append(":**").Append(list.Count == 0 ? " none" : "").Append('\n');
            foreach (var (path, ms) in list) sb.Append("- ").Append(Code(path)).Append(" (").Append(Ms(ms)).Append(" ms)\n");
        }
    }

    // A span name may hold anything: a backtick would end the code span, a pipe the table cell, a newline the row.
    private static string Code(string s) => "`" + Escape(s).Replace('`', '\'') + "`";

    private static string Escape(string s) => s.ReplaceLineEndings(" ").Replace("|", "\\|");
}
