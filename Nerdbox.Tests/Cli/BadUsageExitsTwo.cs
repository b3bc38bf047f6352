namespace Nerdbox.Tests.Cli;

/// <summary>
/// An unknown option, a missing value or argument, or a bad value is bad usage: exit 2 before any
/// work, nothing on stdout, and stderr names what was wrong and shows the verb's usage.
/// </summary>
public sealed class BadUsageExitsTwo : IDisposable
{
    private readonly ShimExecutable _shim = new();

    public void Dispose() => _shim.Dispose();

    [Theory]
    // Unknown options, with a guess for the typo.
    [InlineData("'--cpu'", "run", "no-such-bundle", "--cpu", "4")]
    [InlineData("did you mean --cpus?", "run", "no-such-bundle", "--cpu", "4")]
    [InlineData("'--formt'", "trace", "show", "--source", "file:x.json", "--formt", "tree")]
    [InlineData("'--cont'", "bench", "boot", "--cont", "3")]
    [InlineData("'--bogus'", "--bogus")]
    [InlineData("'bogus'", "bogus")]
    // Missing values and arguments.
    [InlineData("'--cpus'", "run", "no-such-bundle", "--cpus")]
    [InlineData("BUNDLE", "run")]
    [InlineData("DIR", "sample")]
    [InlineData("'--source'", "trace", "show")]
    [InlineData("usage: nerdbox-shim image build", "image")]
    // Bad values.
    [InlineData("--cpus wants a positive whole number, not '0'", "run", "no-such-bundle", "--cpus", "0")]
    [InlineData("--memory wants a positive whole number, not 'lots'", "run", "no-such-bundle", "--memory", "lots")]
    [InlineData("--trace wants tree, mermaid or markdown, not 'bogus'", "run", "no-such-bundle", "--trace", "bogus")]
    [InlineData("--backend wants auto", "run", "no-such-bundle", "--backend", "xen")]
    [InlineData("--accel wants auto", "bench", "boot", "--accel", "hvf")]
    [InlineData("--probes wants a positive whole number", "bench", "clock", "--probes", "none")]
    [InlineData("--format wants tree, mermaid or markdown, not 'svg'", "trace", "show", "--source", "file:x.json", "--format", "svg")]
    public async Task Bad_usage_exits_2_and_names_the_problem(string named, params string[] args)
    {
        var r = await _shim.RunAsync(args);

        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal("", r.Stdout);
        Assert.Contains(named, r.Stderr);
        Assert.Contains("usage: nerdbox-shim", r.Stderr);
        Assert.Empty(_shim.Leftovers());
        Assert.Empty(_shim.ProcessesFromTheSandbox());
    }
}
