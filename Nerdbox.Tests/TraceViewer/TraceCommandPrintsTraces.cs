using Google.Protobuf;
using Nerdbox.Shim.Cli;
using OpenTelemetry.Proto.Trace.V1;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary><c>trace show</c>: output on success, usage and exit 2 on bad arguments, a message and exit 1 on bad input.</summary>
public sealed class TraceCommandPrintsTraces : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"nerdbox-trace-{Guid.NewGuid():N}.json");

    public TraceCommandPrintsTraces()
    {
        var data = new TracesData();
        data.ResourceSpans.AddRange(Batches(new S(1, null, "shim.Run", 0, 40), new S(2, 1, "task.Start", 5, 30, "nerdbox-vm")));
        File.WriteAllText(_file, JsonFormatter.Default.Format(data));
    }

    public void Dispose() => File.Delete(_file);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await TraceCommand.RunAsync(args, stdout, stderr, TestContext.Current.CancellationToken);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Show_prints_the_tree_by_default()
    {
        var (code, output, err) = await Run("show", "--source", "file:" + _file);

        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.StartsWith($"trace {TraceId}: 2 spans, 40.000 ms, services nerdbox, nerdbox-vm", output);
        Assert.Contains("*     +5.000     25.000  nerdbox-vm    task.Start", output);
    }

    [Fact]
    public async Task Show_by_id_as_mermaid_prints_the_chart()
    {
        var (code, output, _) = await Run("show", TraceId.ToUpperInvariant(), "--source", "file:" + _file, "--format", "mermaid");

        Assert.Equal(0, code);
        Assert.StartsWith("gantt\n", output);
        Assert.Equal(2, (await MermaidCheck.AssertParsesAsync(output)).Tasks!.Count);
    }

    [Theory]
    [InlineData("show")]
    [InlineData("list", "--source", "file:x")]
    [InlineData("show", "--source", "file:x", "--format", "svg")]
    [InlineData("show", "--source", "zipkin:http://localhost:9411")]
    [InlineData("show", "--source", "jaeger:not a url")]
    [InlineData("show", "nothex!", "--source", "file:x")]
    [InlineData("show", "a", "b", "--source", "file:x")]
    [InlineData("show", "--source", "jaeger:http://localhost:16686", "--lookback", "soon")]
    public async Task Bad_arguments_print_usage_and_exit_2(params string[] args)
    {
        var (code, output, err) = await Run(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("usage: nerdbox-shim trace show", err);
    }

    [Fact]
    public async Task Help_prints_usage_and_exits_0()
    {
        var (code, output, _) = await Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("jaeger-v3:URL", output);
    }

    [Fact]
    public async Task A_source_that_fails_gives_a_message_and_exit_1()
    {
        var (code, output, err) = await Run("show", "--source", "file:" + _file + ".missing");

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith($"nerdbox: error: file {_file}.missing: cannot read it", err);
    }
}
