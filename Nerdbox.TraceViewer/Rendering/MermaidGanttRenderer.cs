using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Nerdbox.TraceViewer.Model;
using Nerdbox.TraceViewer.Analysis;

namespace Nerdbox.TraceViewer.Rendering;

/// <summary>
/// A trace as a Mermaid <c>gantt</c> chart, which GitHub renders inside a <c>```mermaid</c> block.
/// One section per phase (each root, then each of the root's children with everything under it),
/// which reads as the boot's steps; times are whole milliseconds from the trace start; errors are
/// <c>crit</c> (red) and the critical path is <c>active</c>.
/// </summary>
public static partial class MermaidGanttRenderer
{
    private const int MaxNameLength = 60;

    public static string Render(TraceModel trace)
    {
        var onPath = CriticalPath.Of(trace).Select(s => s.Span).ToHashSet();
        var showService = trace.Services.Count > 1;
        var ids = new Dictionary<SpanNode, string>();
        foreach (var span in trace.Spans) ids[span] = "s" + (ids.Count + 1).ToString(CultureInfo.InvariantCulture);

        var sb = new StringBuilder();
        sb.Append("gantt\n");
        sb.Append("    title ").Append(Text(Inv($"Trace {trace.TraceId} ({TreeRenderer.Ms(trace.DurationMs)} ms, {string.Join(" + ", trace.Services)})"), 120)).Append('\n');
        sb.Append("    dateFormat x\n");
        sb.Append("    axisFormat %s.%L s\n");
        sb.Append("    todayMarker off\n");

        foreach (var root in trace.Roots)
        {
            Section(sb, root.Name);
            Task(root, 0);
            foreach (var child in root.Children)
            {
                Section(sb, child.Name);
                Walk(child, 0);
            }
        }
        return sb.ToString();

        void Walk(SpanNode span, int depth)
        {
            Task(span, depth);
            foreach (var c in span.Children) Walk(c, depth + 1);
        }

        void Task(SpanNode span, int depth)
        {
            // Whole milliseconds (dateFormat x); a span shorter than that still gets 1 ms so it shows.
            var start = (long)Math.Floor(trace.OffsetMs(span.StartUnixNano));
            var end = Math.Max(start + 1, (long)Math.Ceiling(trace.OffsetMs(span.EndUnixNano)));
            var name = string.Concat(Enumerable.Repeat("· ", depth)) + span.Name + (showService ? $" ({span.Service})" : "");
            sb.Append("    ").Append(Text(name, MaxNameLength)).Append(" :");
            if (span.IsError) sb.Append("crit, ");
            if (onPath.Contains(span)) sb.Append("active, ");
            sb.Append(ids[span]).Append(", ").Append(start.ToString(CultureInfo.InvariantCulture))
              .Append(", ").Append(end.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static void Section(StringBuilder sb, string name) => sb.Append("    section ").Append(Text(name, MaxNameLength)).Append('\n');

    /// <summary>
    /// Makes <paramref name="s"/> safe as a task, section or title text: ':' would start the task's
    /// data, '#' and '%%' start comments, ';' ends a statement, angle brackets and quotes are HTML to
    /// the renderer, and a leading keyword ("section", "title", ...) would be read as that statement.
    /// </summary>
    public static string Text(string s, int maxLength)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var ch in s)
        {
            sb.Append(ch switch
            {
                ':' => ".",
                ';' => ",",
                '#' => "No.",
                '%' => " pct",
                '<' or '{' or '[' => "(",
                '>' or '}' or ']' => ")",
                '"' or '`' => "'",
                '&' => "+",
                '\\' => "/",
                _ when char.IsControl(ch) || char.IsWhiteSpace(ch) => " ",
                _ => ch.ToString(),
            });
        }
        var text = Spaces().Replace(sb.ToString(), " ").Trim();
        if (text.Length > maxLength) text = text[..(maxLength - 1)].TrimEnd() + "…";
        if (text.Length == 0) text = "(unnamed)";
        if (Keyword().IsMatch(text)) text = "span " + text;
        return text;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    // Words Mermaid's gantt grammar reads as statements when they begin a line.
    [GeneratedRegex(@"^(gantt|section|title|dateformat|axisformat|tickinterval|excludes|includes|todaymarker|weekday|weekend|inclusiveenddates|topaxis|acctitle|accdescr|click|call|href|displaymode)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Keyword();
}
