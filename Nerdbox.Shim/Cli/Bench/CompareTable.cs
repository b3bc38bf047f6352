using System.Text;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>One phase, B against A: the difference of the medians, and whether it stands out from the noise.</summary>
/// <param name="Mark">see <see cref="RankTest.Legend"/>; "-" when a side has no samples of the phase.</param>
internal sealed record PhaseComparison(string Name, double? DeltaMs, double? DeltaPercent, double? P, bool? Exact, string Mark)
{
    public static PhaseComparison Of(PhaseFigures a, PhaseFigures b) => Of(a.Name, a.SamplesMs, b.SamplesMs);

    /// <summary>Any figure's samples, B against A (the deltas in the samples' own unit).</summary>
    public static PhaseComparison Of(string name, IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var test = RankTest.MannWhitney(a, b);
        double? aMedian = a.Count == 0 ? null : BenchRuns.Median(a), bMedian = b.Count == 0 ? null : BenchRuns.Median(b);
        var delta = bMedian - aMedian;
        var percent = delta is { } d && aMedian is { } am && am > 0 ? d / am * 100 : (double?)null;
        return new(name, Round(delta, 3), Round(percent, 2), Round(test?.P, 6), test?.Exact, test is null ? "-" : RankTest.Mark(test.P));
    }

    public static IReadOnlyList<PhaseComparison> Of(BenchSide a, BenchSide b) => [.. a.Phases.Zip(b.Phases, Of)];

    private static double? Round(double? v, int digits) => v is { } x ? Math.Round(x, digits) : null;
}

/// <summary>The text <c>bench compare</c> prints: both sides' medians and p90s, B − A, the p-value and its mark, and what the mark means.</summary>
internal static class CompareTable
{
    public static string Render(int count, BenchSide a, BenchSide b, IReadOnlyList<PhaseComparison> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"bench compare: {count} timed boot(s) of each side; {CompareBench.OrderNote}");
        sb.AppendLine($"  A: {a.Vm}");
        sb.AppendLine($"  B: {b.Vm}");
        sb.AppendLine($"{"phase",-20} {"A median",9} {"A p90",9} {"B median",9} {"B p90",9} {"B-A ms",9} {"B-A %",8} {"p",8}");
        for (var i = 0; i < rows.Count; i++)
            sb.AppendLine(Row(rows[i], a.Phases[i].MedianMs, a.Phases[i].P90Ms, b.Phases[i].MedianMs, b.Phases[i].P90Ms));
        var (ma, mb) = (a.VmmAnonMemory, b.VmmAnonMemory);
        // In the same columns, in MiB; none when neither side could read it.
        if (ma.MedianMib is not null || mb.MedianMib is not null)
            sb.AppendLine(Row(PhaseComparison.Of(MemoryFigures.Name, ma.SamplesMib, mb.SamplesMib), ma.MedianMib, ma.P90Mib, mb.MedianMib, mb.P90Mib));
        sb.AppendLine("times in ms; B-A: B's median minus A's (negative: B is faster); p: two-sided Mann-Whitney U test of the phase's samples");
        sb.AppendLine($"{PhaseFigures.VmmCpuToOutput}: the VMM's CPU time (user+system) until the first output, which a loaded host stretches far less than wall times;");
        sb.AppendLine($"{PhaseFigures.VmmSystemCpuToOutput}: its system part, the host kernel's work for the VMM until the first output, above all the memory it touched first");
        sb.AppendLine(MemoryFigures.Note);
        sb.AppendLine(RankTest.Legend);
        if (RankTest.SmallestP(a.Boots, b.Boots) >= 0.05)
            sb.AppendLine($"note: with {a.Boots} and {b.Boots} boot(s) no difference can reach p<0.05; use --count 4 or more");
        foreach (var (label, side) in new[] { ("A", a), ("B", b) })
            if (side.Failed > 0) sb.AppendLine($"note: {side.Failed} boot(s) of {label} failed and are left out");
        return sb.ToString();
    }

    private static string Row(PhaseComparison r, double? aMedian, double? aP90, double? bMedian, double? bP90) =>
        $"{r.Name,-20} {Ms(aMedian),9} {Ms(aP90),9} {Ms(bMedian),9} {Ms(bP90),9} " +
        $"{Num(r.DeltaMs, "+0.0;-0.0;0.0"),9} {Num(r.DeltaPercent, "+0.0;-0.0;0.0") + (r.DeltaPercent is null ? "" : "%"),8} {Num(r.P, "0.000"),8} {r.Mark}";

    private static string Ms(double? v) => Num(v, "0.0");

    private static string Num(double? v, string format) => v is { } x ? x.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "-";
}
