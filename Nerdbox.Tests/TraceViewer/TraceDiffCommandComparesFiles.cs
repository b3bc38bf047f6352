using Nerdbox.Shim.Cli;

namespace Nerdbox.Tests.TraceViewer;

/// <summary><c>trace diff A B</c> in process: output on success, usage and exit 2 on bad arguments, a message naming the side and exit 1 on bad input.</summary>
public sealed class TraceDiffCommandComparesFiles : IDisposable
{
    private readonly TwoBoots _boots = new();

    public void Dispose() => _boots.Dispose();

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await TraceCommand.RunAsync(args, stdout, stderr, TestContext.Current.CancellationToken);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Diff_of_two_files_prints_the_tree_by_default()
    {
        var (code, output, err) = await Run("diff", "file:" + _boots.FileA, "file:" + _boots.FileB);

        Assert.Equal("", err);
        Assert.Equal(0, code);
        Assert.StartsWith($"diff: A trace {TwoBoots.TraceA} (400.000 ms, 11 spans), B trace {TwoBoots.TraceB} (350.000 ms, 12 spans)", output);
        Assert.Contains("warning: A and B differ in nerdbox.vm.accelerator: A kvm, B tcg", output);
        Assert.Contains("vm.WaitForAgent", output);
        Assert.Contains("only in A (1):", output);
    }

    [Fact]
    public async Task Ids_after_a_hash_pick_the_traces_and_the_format_is_honoured()
    {
        var (code, output, _) = await Run("diff", $"file:{_boots.FileA}#{TwoBoots.TraceA.ToUpperInvariant()}", $"file:{_boots.FileB}#latest", "--format", "markdown");

        Assert.Equal(0, code);
        Assert.Contains("| * | `nerdbox.Run/shim.VMBoot/vm.WaitForAgent` | 200.000 | 48.000 | -152.000 | -76.0% |", output);

        var (mermaidCode, chart, _) = await Run("diff", "file:" + _boots.FileA, "file:" + _boots.FileB, "--format", "mermaid");
        Assert.Equal(0, mermaidCode);
        Assert.Equal(23, (await MermaidCheck.AssertParsesAsync(chart)).Tasks!.Count);
    }

    [Fact]
    public async Task A_trace_the_file_does_not_hold_fails_naming_the_side()
    {
        var (code, output, err) = await Run("diff", "file:" + _boots.FileA, $"file:{_boots.FileA}#{TwoBoots.TraceB}");

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith($"nerdbox: error: B: file {_boots.FileA}: trace {TwoBoots.TraceB} is not in the response", err);
    }

    [Fact]
    public async Task A_missing_file_fails_naming_the_side()
    {
        var (code, _, err) = await Run("diff", "file:" + _boots.FileA + ".missing", "file:" + _boots.FileB);

        Assert.Equal(1, code);
        Assert.StartsWith($"nerdbox: error: A: file {_boots.FileA}.missing: cannot read it", err);
    }

    [Theory]
    [InlineData("diff wants B", "diff", "file:a.json")]
    [InlineData("unknown source kind 'zipkin'", "diff", "zipkin:http://localhost:9411", "file:b.json")]
    [InlineData("B 'b.json' wants KIND:WHERE", "diff", "file:a.json", "b.json")]
    [InlineData("'not a url' is not an http(s) URL", "diff", "file:a.json", "jaeger:not a url#latest")]
    [InlineData("--format wants tree, markdown or mermaid, not 'svg'", "diff", "file:a.json", "file:b.json", "--format", "svg")]
    [InlineData("'file:c.json'", "diff", "file:a.json", "file:b.json", "file:c.json")]
    public async Task Bad_arguments_print_usage_and_exit_2(string named, params string[] args)
    {
        var (code, output, err) = await Run(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(named, err);
        Assert.Contains("usage: nerdbox-shim trace diff", err);
    }

    [Fact]
    public async Task Help_names_the_spec_syntax_and_exits_0()
    {
        var (code, output, _) = await Run("diff", "--help");

        Assert.Equal(0, code);
        Assert.Contains("SOURCE#ID", output);
        Assert.Contains("<A>", output);
    }
}
