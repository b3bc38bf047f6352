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

/// <summary><c>bench floor</c> rotates three kinds: each round starts one kind later, so none always goes first or last.</summary>
public sealed class RotatingOrderTests
{
    [Fact]
    public void Three_kinds_rotate_which_goes_first_round_by_round()
    {
        var order = BenchRuns.Rotating(["F", "R", "C"], 4).ToList();

        Assert.Equal([(0, "F"), (0, "R"), (0, "C"), (1, "R"), (1, "C"), (1, "F"), (2, "C"), (2, "F"), (2, "R"), (3, "F"), (3, "R"), (3, "C")], order);
    }
}
