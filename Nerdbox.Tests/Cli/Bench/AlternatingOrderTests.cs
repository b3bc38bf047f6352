using Nerdbox.Shim.Cli.Bench;

namespace Nerdbox.Tests.Cli.Bench;

/// <summary>The benchmarks that compare two kinds of boot run them in one order: A B, B A, A B, ...</summary>
public sealed class AlternatingOrderTests
{
    [Fact]
    public void Two_kinds_alternate_which_goes_first_round_by_round()
    {
        var order = BenchRuns.Alternating("A", "B", 3).ToList();

        Assert.Equal([(0, "A"), (0, "B"), (1, "B"), (1, "A"), (2, "A"), (2, "B")], order);
    }

    [Fact]
    public void No_rounds_no_runs()
    {
        Assert.Empty(BenchRuns.Alternating(true, false, 0));
    }
}

/// <summary>
/// <c>bench floor</c> interleaves three kinds so that each follows each, itself included, equally often: a boot
/// inherits the host's state from the one before it.
/// </summary>
public sealed class BalancedOrderTests
{
    [Fact]
    public void Each_kind_follows_each_kind_once_per_cycle_and_runs_its_count()
    {
        var order = BenchRuns.Balanced(["F", "R", "C"], 3).Select(o => o.Kind).ToList();

        Assert.Equal(["F", "F", "R", "F", "C", "R", "R", "C", "C"], order);
        var pairs = order.Zip(order.Skip(1).Append(order[0])).Select(p => p.First + p.Second).ToList();
        Assert.Equal(9, pairs.Distinct().Count());
    }

    [Theory]
    [InlineData(7)]
    [InlineData(1)]
    [InlineData(0)]
    public void Every_kind_gets_exactly_count_boots_numbered_in_order(int count)
    {
        var order = BenchRuns.Balanced(["F", "R", "C"], count).ToList();

        foreach (var kind in new[] { "F", "R", "C" })
            Assert.Equal(Enumerable.Range(0, count), order.Where(o => o.Kind == kind).Select(o => o.Round));
    }

    [Fact]
    public void Two_kinds_alternating_follow_each_other_and_themselves_alike()
    {
        var order = BenchRuns.Alternating("A", "B", 8).Select(o => o.Kind).ToList();
        var pairs = order.Zip(order.Skip(1)).GroupBy(p => p.First + p.Second).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(4, pairs.Count);
        Assert.True(pairs.Values.Max() - pairs.Values.Min() <= 1, string.Join(", ", pairs));
    }
}
