using System.Globalization;
using System.Text;
using Nerdbox.TraceViewer.Analysis;
using Nerdbox.TraceViewer.Model;
using static Nerdbox.TraceViewer.Rendering.TraceDiffRendering;

namespace Nerdbox.TraceViewer.Rendering;

/// <summary>
/// A trace diff as text: the spans of both traces as one tree, each line with A's and B's duration and the
/// change; <c>*</c> marks the critical path of either side. Siblings are ranked like the diff's list (critical
/// path first, then the largest change), so the spans that moved the total are at the top of each level.
/// </summary>
public static class TraceDiffTree
{
    public static string Render(TraceDiff diff)
    {
        var sb = new StringBuilder();
        sb.Append(Header(diff)).Append('\n');
        foreach (var w in diff.Warnings) sb.Append("warning: ").Append(w).Append('\n');
        foreach (var (side, trace) in new[] { ("A", diff.A), ("B", diff.B) })
            foreach (var note in trace.Warnings) sb.Append("note (").Append(side).Append("): ").Append(note).Append('\n');
        sb.Append('\n');

        sb.Append(Inv($"  {"A ms",10} {"B ms",10} {"delta ms",10} {"delta %",8}  span\n"));
        var children = diff.Matched.Concat(diff.OnlyInA).Concat(diff.OnlyInB).ToLookup(c => c.Path.ParentKey);
        Lines(null);
        sb.Append("\n* on the critical path of A or B; delta = B - A; siblings: critical path first, then by size of change\n");

        OnlyIn("A", diff.OnlyInA, s => s.A!);
        OnlyIn("B", diff.OnlyInB, s => s.B!);
        return sb.ToString();

        void Lines(string? parentKey)
        {
            foreach (var s in TraceDiff.Rank(children[parentKey]))
            {
                sb.Append(s.OnCriticalPath ? "* " : "  ")
                  .Append(Inv($"{Ms(s.A?.DurationMs),10} {Ms(s.B?.DurationMs),10} {SignedMs(s.DeltaMs),10} {SignedPercent(s.DeltaPercent),8}  "))
                  .Append(new string(' ', 2 * s.Path.Depth)).Append(OneLine(s.Path.Step));
                if (s.A is null) sb.Append("  [only in B]");
                if (s.B is null) sb.Append("  [only in A]");
                sb.Append('\n');
                Lines(s.Path.Key);
            }
        }

        void OnlyIn(string side, IReadOnlyList<SpanComparison> spans, Func<SpanComparison, SpanNode> span)
        {
            if (spans.Count == 0) return;
            sb.Append(Inv($"\nonly in {side} ({spans.Count}):\n"));
            foreach (var s in spans) sb.Append(Inv($"  {TreeRenderer.Ms(span(s).DurationMs),10} ms  {OneLine(s.Path.Text)}\n"));
        }
    }

    /// <summary>One line naming both traces and how their lengths differ.</summary>
    internal static string Header(TraceDiff diff) =>
        Inv($"diff: A trace {diff.A.TraceId} ({TreeRenderer.Ms(diff.A.DurationMs)} ms, {Count(diff.A)}), ")
        + Inv($"B trace {diff.B.TraceId} ({TreeRenderer.Ms(diff.B.DurationMs)} ms, {Count(diff.B)}); ")
        + Inv($"B - A = {SignedMs(diff.DeltaMs)} ms ({SignedPercent(diff.A.DurationMs > 0 ? diff.DeltaMs / diff.A.DurationMs * 100 : null)})");

    private static string Count(TraceModel t) => t.Spans.Count == 1 ? "1 span" : Inv($"{t.Spans.Count} spans");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
