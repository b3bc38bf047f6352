namespace Nerdbox.Tests.Cli;

/// <summary>
/// <c>--help</c> and <c>-h</c> on every verb print usage and exit 0, and nothing else happens: no
/// server starts, no guest image is built, no bundle is written, no VM boots.
/// </summary>
public sealed class HelpDoesNothingElse : IDisposable
{
    private readonly ShimExecutable _shim = new();

    public void Dispose() => _shim.Dispose();

    public static TheoryData<string[]> Verbs() => new(
        [],
        ["serve"],
        ["run"],
        ["image"],
        ["image", "build"],
        ["sample"],
        ["trace"],
        ["trace", "show"],
        ["trace", "diff"],
        ["bench"],
        ["bench", "boot"],
        ["bench", "compare"],
        ["bench", "relay"],
        ["bench", "trace-overhead"],
        ["bench", "clock"],
        ["bench", "otlp-down"]);

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Long_help_prints_usage_and_does_nothing_else(string[] verb) => await HelpAsync(verb, [], "--help");

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Short_help_prints_usage_and_does_nothing_else(string[] verb) => await HelpAsync(verb, [], "-h");

    [Fact]
    public async Task Help_after_a_verbs_argument_is_still_only_help()
    {
        // Before, "sample --help" wrote a bundle into ./--help and "bench boot --help" booted VMs.
        await HelpAsync(["sample"], ["bundle-dir"], "--help");
        await HelpAsync(["bench", "boot"], ["--count", "1"], "--help");
        await HelpAsync(["bench", "compare"], ["--count", "1", "--b-kernel-arg", "mitigations=off", "--json", "figures.json"], "--help");
        await HelpAsync(["run"], ["no-such-bundle", "--cpus", "2"], "--help");
    }

    private async Task HelpAsync(string[] verb, string[] args, string help)
    {
        var r = await _shim.RunAsync([.. verb, .. args, help]);

        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stderr);
        var usage = r.Stdout.Split('\n').SkipWhile(l => l.Trim() != "Usage:").Skip(1).FirstOrDefault()?.Trim();
        Assert.True(usage?.StartsWith(string.Join(' ', ["nerdbox-shim", .. verb]) + " ") == true, r.ToString());
        Assert.Empty(_shim.Leftovers());
        Assert.Empty(_shim.ProcessesFromTheSandbox());
    }
}
