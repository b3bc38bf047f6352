namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// The two-sided Mann–Whitney U test: do two samples come from the same distribution? It uses
/// ranks only, so one slow outlier boot cannot make a difference look real, and it assumes no
/// particular shape of the timings. Exact for small samples without ties; otherwise the normal
/// approximation with the tie correction and a continuity correction.
/// </summary>
internal static class RankTest
{
    /// <summary>Up to this many values in all, without ties, the p-value is counted exactly.</summary>
    public const int ExactUpTo = 50;

    /// <param name="U">U of the first sample: pairs (a, b) with a &gt; b, ties counting one half.</param>
    /// <param name="P">two-sided p-value.</param>
    public sealed record Result(double U, double P, bool Exact);

    public const string Legend = "** p<0.01, * p<0.05, ~ not significant (the difference may be noise)";

    public static string Mark(double p) => p < 0.01 ? "**" : p < 0.05 ? "*" : "~";

    /// <summary>The test; null when either sample is empty.</summary>
    public static Result? MannWhitney(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        int m = a.Count, n = b.Count;
        if (m == 0 || n == 0) return null;
        var (ranks, tieTerm) = Ranks([.. a, .. b]);
        var u = ranks.Take(m).Sum() - m * (m + 1) / 2.0;
        if (tieTerm == 0 && m + n <= ExactUpTo)
            return new Result(u, ExactP(m, n, u), true);
        return new Result(u, NormalP(m, n, u, tieTerm), false);
    }

    /// <summary>The smallest two-sided p that samples of these sizes can reach: fully separated, no ties.</summary>
    public static double SmallestP(int m, int n) => Math.Min(1, 2 / Choose(m + n, m));

    /// <summary>Mid-ranks (1-based, ties share their mean rank) and Σ(t³ − t) over groups of t tied values.</summary>
    private static (double[] Ranks, double TieTerm) Ranks(double[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        double tieTerm = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            var mid = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++) ranks[order[k]] = mid;
            double t = end - start + 1;
            tieTerm += t * t * t - t;
            start = end + 1;
        }
        return (ranks, tieTerm);
    }

    /// <summary>Twice the smaller tail of U's distribution under "no difference": every ordering of the m + n values equally likely.</summary>
    private static double ExactP(int m, int n, double u)
    {
        var counts = Counts(m, n);
        var low = (int)Math.Round(Math.Min(u, m * n - u));
        double tail = 0;
        for (var k = 0; k <= low; k++) tail += counts[k];
        return Math.Min(1, 2 * tail / Choose(m + n, m));
    }

    /// <summary>How many orderings of m a's and n b's give each U: the largest value is an a (beating all n b's) or a b.</summary>
    private static double[] Counts(int m, int n)
    {
        // f[i, j] is the distribution for i a's and j b's, built up from the empty samples.
        var f = new double[m + 1, n + 1][];
        for (var i = 0; i <= m; i++)
            for (var j = 0; j <= n; j++)
            {
                var d = new double[i * j + 1];
                if (i == 0 || j == 0) d[0] = 1;
                else
                {
                    for (var k = 0; k < f[i, j - 1].Length; k++) d[k] += f[i, j - 1][k];
                    for (var k = 0; k < f[i - 1, j].Length; k++) d[k + j] += f[i - 1, j][k];
                }
                f[i, j] = d;
            }
        return f[m, n];
    }

    private static double NormalP(int m, int n, double u, double tieTerm)
    {
        var total = m + n;
        var mean = m * n / 2.0;
        var variance = m * n / 12.0 * (total + 1 - tieTerm / (total * (total - 1.0)));
        // All values equal: nothing tells the samples apart.
        if (variance <= 0) return 1;
        var z = Math.Max(0, Math.Abs(u - mean) - 0.5) / Math.Sqrt(variance);
        return Math.Min(1, Erfc(z / Math.Sqrt(2)));
    }

    private static double Choose(int n, int k)
    {
        double c = 1;
        for (var i = 1; i <= k; i++) c = c * (n - k + i) / i;
        return Math.Round(c);
    }

    /// <summary>The complementary error function (Chebyshev fit, relative error below 1.2e-7); .NET has none.</summary>
    internal static double Erfc(double x)
    {
        var t = 1 / (1 + 0.5 * Math.Abs(x));
        var y = t * Math.Exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : 2 - y;
    }
}
