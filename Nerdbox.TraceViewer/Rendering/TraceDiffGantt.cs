using System.Globalization;
using System.Text;
using Nerdbox.TraceViewer.Analysis;
using Nerdbox.TraceViewer.Model;
using static Nerdbox.TraceViewer.Rendering.TraceDiffRendering;

namespace Nerdbox.TraceViewer.Rendering;

/// <summary>
/// A trace diff as one Mermaid <c>gantt</c> chart: section A then section B, each span of that run a bar in
/// display order, times in whole milliseconds from that run's own start so the two line up. B's bars carry
/// the change against A; a span found on one side only says so. The critical path of each run is
/// <c>active</c>, errors <c>crit</c>, as in <see cref="MermaidGanttRenderer"/>.
/// </summary>
public static class TraceDiffGantt
{
    private const int MaxNameLength = 80;

    public static string Render(TraceDiff diff)
    {
        var showService = diff.A.Services.Count > 1 || diff.B.Services.Count > 1;
        var sb = new StringBuilder();
        sb.Append("gantt\n");
        sb.Append("    title ").Append(MermaidGanttRenderer.Text(Inv(
            $"Trace diff. A {Short(diff.A)} ({TreeRenderer.Ms(diff.A.DurationMs)} ms) vs B {Short(diff.B)} ({TreeRenderer.Ms(diff.B.DurationMs)} ms)"), 120)).Append('\n');
        sb.Append("    dateFormat x\n");
        sb.Append("    axisFormat %s.%L s\n");
        sb.Append("    todayMarker off\n");

        var byA = diff.Matched.Concat(diff.OnlyInA).ToDictionary(s => s.A!);
        var byB = diff.Matched.Concat(diff.OnlyInB).ToDictionary(s => s.B!);
        Section("A", diff.A, byA, s => s.B is null ? "only in A" : null);
        Section("B", diff.B, byB, s => s.A is null ? "only in B" : SignedMs(s.DeltaMs) + " ms");
        return sb.ToString();

        void Section(string side, TraceModel trace, Dictionary<SpanNode, SpanComparison> compared, Func<SpanComparison, string?> remark)
        {
            var onPath = CriticalPath.Of(trace).Select(s => s.Span).ToHashSet();
            sb.Append("    section ").Append(Inv($"{side} ({TreeRenderer.Ms(trace.DurationMs)} ms)")).Append('\n');
            var n = 0;
            foreach (var span in trace.Spans)
            {
                // Whole milliseconds (dateFormat x); a span shorter than that still gets 1 ms so it shows.
                var start = (long)Math.Floor(trace.OffsetMs(span.StartUnixNano));
                var end = Math.Max(start + 1, (long)Math.Ceiling(trace.OffsetMs(span.EndUnixNano)));
                // The path's step carries the repeat number (task.Wait[2]), so the bars of A and B pair up.
                var name = string.Concat(Enumerable.Repeat("· ", span.Depth)) + compared[span].Path.Step
                    + (showService ? $" ({span.Service})" : "") + (remark(compared[span]) is { } r ? $" ({r})" : "");
                sb.Append("    ").Append(MermaidGanttRenderer.Text(name, MaxNameLength)).Append(" :");
                if (span.IsError) sb.Append("crit, ");
                if (onPath.Contains(span)) sb.Append("active, ");
                // Task ids must be unique across the chart: a1.. for A, b1.. for B.
                sb.Append(side.ToLowerInvariant()).Append((++n).ToString(CultureInfo.InvariantCulture)).Append(", ")
                  .Append(start.ToString(CultureInfo.InvariantCulture)).Append(", ")
                  .Append(end.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }
    }

    // The first 8 digits name a trace well enough in a title.
    private static string Short(TraceModel t) => t.TraceId[..8];

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
