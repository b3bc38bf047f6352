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
    [InlineData("--cpu-model wants a QEMU CPU model", "run", "no-such-bundle", "--cpu-model", "max;reboot")]
    [InlineData("--b-cpu-model wants a QEMU CPU model", "bench", "compare", "--b-cpu-model", "max -erms")]
    [InlineData("--kernel wants debian or minimal, not 'tiny'", "run", "no-such-bundle", "--kernel", "tiny")]
    [InlineData("--kernel wants debian or minimal, not 'tiny'", "image", "build", "--kernel", "tiny")]
    [InlineData("'bogus'", "bogus")]
    // Missing values and arguments.
    [InlineData("'--cpus'", "run", "no-such-bundle", "--cpus")]
    [InlineData("BUNDLE", "run")]
    [InlineData("DIR", "sample")]
    [InlineData("sample --app runs its own script: give no CMD with it", "sample", "dir", "--app", "--", "echo", "hi")]
    [InlineData("'--source'", "trace", "show")]
    [InlineData("diff wants A", "trace", "diff")]
    [InlineData("usage: nerdbox-shim image build", "image")]
    // Bad values.
    [InlineData("--cpus wants a positive whole number, not '0'", "run", "no-such-bundle", "--cpus", "0")]
    [InlineData("--memory wants a positive whole number, not 'lots'", "run", "no-such-bundle", "--memory", "lots")]
    [InlineData("--trace wants tree, mermaid or markdown, not 'bogus'", "run", "no-such-bundle", "--trace", "bogus")]
    [InlineData("--backend wants auto", "run", "no-such-bundle", "--backend", "xen")]
    [InlineData("--accel wants auto", "bench", "boot", "--accel", "hvf")]
    [InlineData("--probes wants a positive whole number", "bench", "clock", "--probes", "none")]
    [InlineData("--format wants tree, mermaid or markdown, not 'svg'", "trace", "show", "--source", "file:x.json", "--format", "svg")]
    // Kernel words: malformed, or the shim's own.
    [InlineData("--kernel-arg 'console=ttyS1' sets console=, which the shim owns", "run", "no-such-bundle", "--kernel-arg", "console=ttyS1")]
    [InlineData("--kernel-arg 'rdinit=/bin/sh' sets rdinit=", "bench", "boot", "--kernel-arg", "rdinit=/bin/sh")]
    [InlineData("--kernel-arg 'nerdbox.debug=1' is a nerdbox.* setting", "run", "no-such-bundle", "--kernel-arg", "quiet", "--kernel-arg", "nerdbox.debug=1")]
    [InlineData("--kernel-arg 'a b' has whitespace", "bench", "clock", "--kernel-arg", "a b")]
    [InlineData("--kernel-arg '' is empty", "run", "no-such-bundle", "--kernel-arg", "")]
    [InlineData("--b-kernel-arg 'nerdbox.channel=vsock:1'", "bench", "compare", "--b-kernel-arg", "nerdbox.channel=vsock:1")]
    [InlineData("did you mean --a-kernel-arg?", "bench", "compare", "--kernel-arg", "quiet")]
    [InlineData("--a-cpus wants a positive whole number, not '0'", "bench", "compare", "--a-cpus", "0")]
    [InlineData("--json wants a file in a folder that exists", "bench", "compare", "--json", "no-such-folder/figures.json")]
    [InlineData("--json wants a file in a folder that exists", "bench", "boot", "--json", "no-such-folder/figures.json")]
    // Workload span names: empty, or not printable (a span name the relay would cut could never match either).
    [InlineData("--ready-when wants a span name of 1 to 256 printable characters, not ''", "run", "no-such-bundle", "--ready-when", "")]
    [InlineData("--ready-when wants a span name of 1 to 256 printable characters", "bench", "boot", "--ready-when", "app\tReady")]
    [InlineData("'--ready-when'", "bench", "compare", "--ready-when")]
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
