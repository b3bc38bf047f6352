using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Analysis;

/// <summary>
/// Where a span sits in its trace, so that the same step can be found in another run of it: the names from
/// its root down to it (<c>shim.Run/shim.VMBoot/vm.VMMStart</c>), and among siblings of the same name its
/// repeat number in start order, shown from the second on (<c>task.Wait[2]</c>).
/// </summary>
/// <param name="Key">Equal for the same place in two traces; unambiguous even when names hold '/' or '['.</param>
/// <param name="Text">The path as people read it.</param>
/// <param name="Step">The last step of <paramref name="Text"/>: the span's name, with its repeat number from the second on.</param>
/// <param name="Depth">0 for a root.</param>
/// <param name="ParentKey">The parent's key; null for a root.</param>
public sealed record SpanPath(string Key, string Text, string Step, int Depth, string? ParentKey)
{
    /// <summary>The path of every span of <paramref name="trace"/>.</summary>
    public static Dictionary<SpanNode, SpanPath> Of(TraceModel trace)
    {
        var paths = new Dictionary<SpanNode, SpanPath>();
        Name(trace.Roots, null);
        return paths;

        void Name(IReadOnlyList<SpanNode> siblings, SpanPath? parent)
        {
            // Siblings are in start order already (SpanOrder), so repeat numbers follow start time.
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var span in siblings)
            {
                var repeat = seen[span.Name] = seen.GetValueOrDefault(span.Name) + 1;
                var step = repeat == 1 ? span.Name : $"{span.Name}[{repeat}]";
                // Control characters cannot be confused with anything a name holds in practice.
                var key = $"{parent?.Key}\u001e{span.Name}\u001f{repeat}";
                var path = new SpanPath(key, parent is null ? step : parent.Text + "/" + step, step, span.Depth, parent?.Key);
                paths[span] = path;
                Name(span.Children, path);
            }
        }
    }
}
