using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Analysis;

/// <summary>
/// What a boot ran on, as its spans record it. Two runs on different accelerators, backends, kernels or
/// guest images are not timed like for like, so a diff says so before its numbers.
/// </summary>
public static class TraceEnvironment
{
    /// <summary>
    /// The facts that describe the environment, each under its current key and then the keys older traces
    /// used for it, so that a trace from before a rename still compares with one from after it.
    /// </summary>
    private static readonly IReadOnlyList<(string Key, string[] Aliases)> Facts =
    [
        ("nerdbox.vm.accelerator", []),
        ("nerdbox.vm.backend", []),
        // The guest kernel: os.version on the guest's resource, nerdbox.guest.kernel on host spans.
        ("os.version", ["nerdbox.guest.kernel"]),
        ("nerdbox.image.id", []),
    ];

    /// <summary>Every attribute read, from any span or resource of a trace: current keys and older ones.</summary>
    public static readonly IReadOnlyList<string> Keys = [.. Facts.SelectMany(f => f.Aliases.Prepend(f.Key))];

    /// <summary>Each fact that <paramref name="trace"/> records, under its current key, with its values (sorted; usually one).</summary>
    public static Dictionary<string, IReadOnlyList<string>> Of(TraceModel trace)
    {
        var found = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (key, aliases) in Facts)
        {
            var keys = aliases.Prepend(key).ToList();
            var values = trace.Spans.SelectMany(s => keys.SelectMany(k => new[] { s.Attributes.GetValueOrDefault(k), s.Resource.GetValueOrDefault(k) }))
                .OfType<string>().Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            if (values.Count > 0) found[key] = values;
        }
        return found;
    }

    /// <summary>
    /// A sentence for each fact both traces record with different values. A fact only one side records is
    /// not a difference: older traces lack some of these attributes.
    /// </summary>
    public static IReadOnlyList<string> Differences(TraceModel a, TraceModel b)
    {
        var (inA, inB) = (Of(a), Of(b));
        return Facts.Select(f => f.Key)
            .Where(k => inA.ContainsKey(k) && inB.ContainsKey(k) && !inA[k].SequenceEqual(inB[k]))
            .Select(k => $"A and B differ in {k}: A {string.Join(", ", inA[k])}, B {string.Join(", ", inB[k])}; their timings may not compare")
            .ToList();
    }
}
