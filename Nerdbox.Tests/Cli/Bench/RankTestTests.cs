using Nerdbox.Shim.Cli.Bench;

namespace Nerdbox.Tests.Cli.Bench;

/// <summary>The Mann–Whitney U test of <c>bench compare</c> against values worked out independently.</summary>
public sealed class RankTestTests
{
    [Fact]
    public void Textbook_example_without_ties_is_exact()
    {
        // SciPy's documented example (mannwhitneyu, method="exact"): U = 17, p = 1/9.
        var r = RankTest.MannWhitney([19, 22, 16, 29, 24], [20, 11, 17, 12])!;

        Assert.True(r.Exact);
        Assert.Equal(17, r.U);
        Assert.Equal(1 / 9.0, r.P, 1e-12);
    }

    [Fact]
    public void Ties_use_the_normal_approximation_with_the_tie_correction()
    {
        // Ranks 1, 3, 3 | 3, 5, 6: U = 1; variance 9/12 * (7 - 24/30) = 4.65; z = (3.5 - 0.5) / sqrt(4.65).
        var r = RankTest.MannWhitney([1, 2, 2], [2, 3, 4])!;

        Assert.False(r.Exact);
        Assert.Equal(1, r.U);
        Assert.Equal(0.16415972847851523, r.P, 1e-6);
    }

    [Fact]
    public void Large_samples_use_the_normal_approximation()
    {
        // Evens against odds, 30 each: U = 435, mean 450, variance 900 * 61 / 12.
        var r = RankTest.MannWhitney([.. Enumerable.Range(0, 30).Select(i => 2.0 * i)], [.. Enumerable.Range(0, 30).Select(i => 2.0 * i + 1)])!;

        Assert.False(r.Exact);
        Assert.Equal(435, r.U);
        Assert.Equal(0.8302552839111963, r.P, 1e-6);
        Assert.Equal("~", RankTest.Mark(r.P));
    }

    [Fact]
    public void Identical_samples_are_not_significant()
    {
        double[] boots = [4012, 4100, 3990, 4230, 4075, 4150, 4001, 4188];

        Assert.Equal(1, RankTest.MannWhitney(boots, boots)!.P, 1e-9);
        Assert.Equal("~", RankTest.Mark(RankTest.MannWhitney(boots, boots)!.P));
        // Every value the same: nothing tells the samples apart.
        Assert.Equal(1, RankTest.MannWhitney([5, 5, 5], [5, 5, 5, 5])!.P);
    }

    [Fact]
    public void Fully_separated_samples_of_eight_are_significant()
    {
        double[] slow = [5010, 5120, 5080, 5200, 5050, 5150, 5099, 5170];
        double[] fast = [4010, 4120, 4080, 4200, 4050, 4150, 4099, 4170];

        var r = RankTest.MannWhitney(slow, fast)!;

        Assert.True(r.Exact);
        Assert.Equal(64, r.U);
        // Two of the C(16, 8) orderings are this extreme.
        Assert.Equal(2 / 12870.0, r.P, 1e-12);
        Assert.Equal("**", RankTest.Mark(r.P));
        Assert.Equal(r.P, RankTest.MannWhitney(fast, slow)!.P, 1e-12);
        Assert.Equal(0, RankTest.MannWhitney(fast, slow)!.U);
    }

    [Fact]
    public void Small_samples_cannot_be_significant_however_far_apart()
    {
        var r = RankTest.MannWhitney([10, 11, 12], [20, 21, 22])!;

        Assert.Equal(0.1, r.P, 1e-12);
        Assert.Equal("~", RankTest.Mark(r.P));
        Assert.Equal(0.1, RankTest.SmallestP(3, 3), 1e-12);
        Assert.Equal(2 / 70.0, RankTest.SmallestP(4, 4), 1e-12);
        Assert.Equal(1, RankTest.SmallestP(1, 1));
    }

    [Fact]
    public void An_empty_sample_has_no_test()
    {
        Assert.Null(RankTest.MannWhitney([], [1, 2]));
        Assert.Null(RankTest.MannWhitney([1, 2], []));
    }

    [Theory]
    [InlineData(0.0099, "**")]
    [InlineData(0.01, "*")]
    [InlineData(0.0499, "*")]
    [InlineData(0.05, "~")]
    [InlineData(1.0, "~")]
    public void Marks_follow_the_thresholds(double p, string mark) => Assert.Equal(mark, RankTest.Mark(p));

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(-1.0, 1.8427007929497148)]
    [InlineData(3.0, 2.209049699858544e-05)]
    public void Erfc_matches_known_values(double x, double expected) =>
        Assert.Equal(expected, RankTest.Erfc(x), Math.Max(1e-7 * expected, 1e-12));
}
