using System.Text;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>One phase, B against A: the difference of the medians, and whether it stands out from the noise.</summary>
/// <param name="Mark">see <see cref="RankTest.Legend"/>; "-" when a side has no samples of the phase.</param>
internal sealed record PhaseComparison(string Name, double? DeltaMs, double? DeltaPercent, double? P, bool? Exact, string Mark)
{
    public static PhaseComparison Of(PhaseFigures a, PhaseFigures b)
    {
        var test = RankTest.MannWhitney(a.SamplesMs, b.SamplesMs);
        var delta = b.MedianMs - a.MedianMs;
        var percent = delta is { } d && a.MedianMs is { } am && am > 0 ? d / am * 100 : (double?)null;
        return new(a.Name, Round(delta, 3), Round(percent, 2), Round(test?.P, 6), test?.Exact, test is null ? "-" : RankTest.Mark(test.P));
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
        {
            var (pa, pb, r) = (a.Phases[i], b.Phases[i], rows[i]);
            sb.AppendLine($"{r.Name,-20} {Ms(pa.MedianMs),9} {Ms(pa.P90Ms),9} {Ms(pb.MedianMs),9} {Ms(pb.P90Ms),9} " +
                $"{Num(r.DeltaMs, "+0.0;-0.0;0.0"),9} {Num(r.DeltaPercent, "+0.0;-0.0;0.0") + (r.DeltaPercent is null ? "" : "%"),8} {Num(r.P, "0.000"),8} {r.Mark}");
        }
        sb.AppendLine("times in ms; B-A: B's median minus A's (negative: B is faster); p: two-sided Mann-Whitney U test of the phase's samples");
        sb.AppendLine($"{PhaseFigures.VmmCpuToOutput}: the VMM's CPU time (user+system) until the first output, which a loaded host stretches far less than wall times");
        sb.AppendLine(RankTest.Legend);
        if (RankTest.SmallestP(a.Boots, b.Boots) >= 0.05)
            sb.AppendLine($"note: with {a.Boots} and {b.Boots} boot(s) no difference can reach p<0.05; use --count 4 or more");
        foreach (var (label, side) in new[] { ("A", a), ("B", b) })
            if (side.Failed > 0) sb.AppendLine($"note: {side.Failed} boot(s) of {label} failed and are left out");
        return sb.ToString();
    }

    private static string Ms(double? v) => Num(v, "0.0");

    private static string Num(double? v, string format) => v is { } x ? x.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "-";
}
