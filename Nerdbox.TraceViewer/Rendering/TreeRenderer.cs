using System.Globalization;
using System.Text;
using Nerdbox.TraceViewer.Model;
using Nerdbox.TraceViewer.Analysis;
using Nerdbox.Telemetry.Tracing;

namespace Nerdbox.TraceViewer.Rendering;

/// <summary>
/// A trace as text: one line per span, indented by depth, with start offset, duration and service;
/// <c>*</c> marks the critical path, which is then summarised with each span's self time on it.
/// </summary>
public static class TreeRenderer
{
    public static string Render(TraceModel trace)
    {
        var path = CriticalPath.Of(trace);
        var onPath = path.Select(s => s.Span).ToHashSet();
        var services = trace.Services;
        var serviceWidth = Math.Max(7, services.Max(s => s.Length));
        var sb = new StringBuilder();

        sb.Append(Inv($"trace {trace.TraceId}: {trace.Spans.Count} span{(trace.Spans.Count == 1 ? "" : "s")}, "))
          .Append(Inv($"{Ms(trace.DurationMs)} ms, services {string.Join(", ", services)}"))
          .Append('\n');
        foreach (var w in trace.Warnings) sb.Append("note: ").Append(w).Append('\n');
        sb.Append('\n');
        sb.Append(Inv($"  {"start ms",10} {"took ms",10}  {"service".PadRight(serviceWidth)}  span\n"));
        foreach (var span in trace.Spans)
        {
            sb.Append(onPath.Contains(span) ? "* " : "  ")
              .Append(Inv($"{"+" + Ms(trace.OffsetMs(span.StartUnixNano)),10} {Ms(span.DurationMs),10}  "))
              .Append(span.Service.PadRight(serviceWidth)).Append("  ")
              .Append(new string(' ', 2 * span.Depth)).Append(OneLine(span.Name));
            if (span.IsError) sb.Append("  [error").Append(span.StatusMessage is { } m ? ": " + OneLine(m) : "").Append(']');
            if (span.IsOrphan) sb.Append("  [parent ").Append(span.ParentId).Append(" not in trace]");
            if (span.ClosesParentCycle) sb.Append("  [parent cycle]");
            if (!span.HasTimes) sb.Append("  [no timestamps]");
            sb.Append('\n');
        }

        sb.Append('\n').Append(Inv($"critical path, {Ms(path.Sum(s => s.SelfMs))} of {Ms(trace.DurationMs)} ms (self = time on the path spent in the span itself, not in a child):\n"));
        foreach (var step in path)
            sb.Append(Inv($"  {Ms(step.SelfMs),10} ms self  {step.Span.Service.PadRight(serviceWidth)}  {OneLine(step.Span.Name)}{SharedCpu(trace, step)}\n"));
        return sb.ToString();
    }

    /// <summary>
    /// A span whose one CPU also ran another span's work beside it (<see cref="SharedCpuAttributes"/>, as the guest
    /// kernel's initramfs unpack) did not spend all its self time on its own work: the path's line says how much of that
    /// self time the other span overlapped. Of several spans by that name (more than one VM in a trace), the one that
    /// overlaps it most is meant.
    /// </summary>
    private static string SharedCpu(TraceModel trace, CriticalPathStep step)
    {
        if (!step.Span.Attributes.TryGetValue(SharedCpuAttributes.With, out var with)) return "";
        var shared = trace.Spans.Where(s => s.Name == with && s.Service == step.Span.Service && s != step.Span)
            .Select(s => step.SelfMsWithin(s.StartUnixNano, s.EndUnixNano)).DefaultIfEmpty(0).Max();
        return shared > 0 ? Inv($"  ({Ms(shared)} ms of it shared the CPU with {OneLine(with)})") : "";
    }

    internal static string Ms(double ms) => ms.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
