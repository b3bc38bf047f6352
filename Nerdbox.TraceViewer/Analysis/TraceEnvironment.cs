using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Analysis;

/// <summary>
/// What a boot ran on, as its spans record it. Two runs on different accelerators, backends, kernels or
/// guest images are not timed like for like, so a diff says so before its numbers.
/// </summary>
public static class TraceEnvironment
{
    /// <summary>The attributes that describe the environment, read from any span or resource of a trace.</summary>
    public static readonly IReadOnlyList<string> Keys =
        ["nerdbox.vm.accelerator", "nerdbox.vm.backend", "nerdbox.guest.kernel", "os.version", "nerdbox.image.id"];

    /// <summary>Each of <see cref="Keys"/> that <paramref name="trace"/> records, with its values (sorted; usually one).</summary>
    public static Dictionary<string, IReadOnlyList<string>> Of(TraceModel trace)
    {
        var found = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var key in Keys)
        {
            var values = trace.Spans.SelectMany(s => new[] { s.Attributes.GetValueOrDefault(key), s.Resource.GetValueOrDefault(key) })
                .OfType<string>().Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (values.Count > 0) found[key] = values;
        }
        return found;
    }

    /// <summary>
    /// A sentence for each key both traces record with different values. A key only one side records is
    /// not a difference: older traces lack some of these attributes.
    /// </summary>
    public static IReadOnlyList<string> Differences(TraceModel a, TraceModel b)
    {
        var (inA, inB) = (Of(a), Of(b));
        return Keys
            .Where(k => inA.ContainsKey(k) && inB.ContainsKey(k) && !inA[k].SequenceEqual(inB[k]))
            .Select(k => $"A and B differ in {k}: A {string.Join(", ", inA[k])}, B {string.Join(", ", inB[k])}; their timings may not compare")
            .ToList();
    }
}
