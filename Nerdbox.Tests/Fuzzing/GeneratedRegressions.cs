using System.Text;
using Nerdbox.Fuzz.Harnesses;

namespace Nerdbox.Tests.Fuzzing;

/// <summary>
/// Findings whose inputs are too large to commit, made here and run through their harness in this process.
/// </summary>
public sealed class GeneratedRegressions
{
    /// <summary>
    /// A trace file whose spans form one parent chain 20,000 deep (4 MB) overflowed the stack in the critical
    /// path's walk, ending the process; 5,000 deep (1 MB) took over 20 s. Spans past the viewer's depth
    /// limit are shown as roots now, in either order of the file.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_trace_nested_20000_deep_renders(bool childrenFirst)
    {
        var file = DeepChain(20_000, childrenFirst);
        var harness = FuzzHarnesses.Find("trace-file")!;

        // Before the fix this ended the test process (a stack overflow cannot be caught).
        await Task.Run(() => harness.Run(file)).WaitAsync(TimeSpan.FromMinutes(2));

        var path = Path.Combine(Path.GetTempPath(), $"nerdbox-deep-trace-{Guid.NewGuid():N}.json");
        await File.WriteAllBytesAsync(path, file);
        TraceModel trace;
        try
        {
            trace = await new Nerdbox.TraceViewer.Sources.OtlpFileSource(path).GetAsync(null, CancellationToken.None);
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Equal(20_000, trace.Spans.Count);
        Assert.True(trace.Spans.Max(s => s.Depth) < TraceBuilder.MaxDepth);
        Assert.Contains(trace.Warnings, w => w.Contains($"deeper than {TraceBuilder.MaxDepth} levels", StringComparison.Ordinal));
        Assert.DoesNotContain(trace.Spans, s => s.IsOrphan);
    }

    private static byte[] DeepChain(int depth, bool childrenFirst)
    {
        const long t0 = 1_767_225_600_000_000_000;
        var spans = Enumerable.Range(0, depth).Select(i =>
            $$"""{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"{{i + 1:x16}}",{{(i > 0 ? $"\"parentSpanId\":\"{i:x16}\"," : "")}}"name":"s{{i}}","startTimeUnixNano":"{{t0 + i}}","endTimeUnixNano":"{{t0 + 2L * depth - i}}"}""");
        if (childrenFirst) spans = spans.Reverse();
        const string head = """{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"nerdbox"}}]},"scopeSpans":[{"scope":{"name":"deep"},"spans":[""";
        return Encoding.UTF8.GetBytes(head + string.Join(",", spans) + "]}]}]}");
    }
}
