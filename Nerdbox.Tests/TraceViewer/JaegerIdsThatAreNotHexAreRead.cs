using Nerdbox.Shim.Cli;
using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>
/// Jaeger JSON whose ids are names (<c>trace-123</c>, <c>span-1</c>), as some Jaeger test traces have: read,
/// with a stable hash for each id so parents still link, and the original spelling kept in view.
/// </summary>
public sealed class JaegerIdsThatAreNotHexAreRead : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"nerdbox-jaeger-{Guid.NewGuid():N}.json");

    private const string Json = """
        {"data": [{
          "traceID": "trace-123",
          "spans": [
            {"traceID": "trace-123", "spanID": "span-1", "operationName": "root", "references": [],
             "startTime": 1700000000000000, "duration": 10000, "processID": "p1", "tags": []},
            {"traceID": "trace-123", "spanID": "span-2", "operationName": "child",
             "references": [{"refType": "CHILD_OF", "traceID": "trace-123", "spanID": "span-1"}],
             "startTime": 1700000000002000, "duration": 5000, "processID": "p1",
             "tags": [{"key": "nerdbox.vm.accelerator", "type": "string", "value": "tcg"}]},
            {"traceID": "trace-123", "spanID": "span-3", "operationName": "lost",
             "references": [{"refType": "CHILD_OF", "traceID": "trace-123", "spanID": "span-9"}],
             "startTime": 1700000000003000, "duration": 1000, "processID": "p1"}
          ],
          "processes": {"p1": {"serviceName": "svc", "tags": [{"key": "nerdbox.vm.backend", "type": "string", "value": "qemu"}]}}
        }]}
        """;

    public JaegerIdsThatAreNotHexAreRead() => File.WriteAllText(_file, Json);

    public void Dispose() => File.Delete(_file);

    private Task<TraceModel> ReadAsync() => new OtlpFileSource(_file).GetAsync(null, Ct);

    [Fact]
    public async Task Named_ids_become_stable_hex_ids_and_parents_still_link()
    {
        var trace = await ReadAsync();

        Assert.Equal(TraceIds.Hashed("trace-123", 16), trace.TraceId);
        Assert.Matches("^[0-9a-f]{32}$", trace.TraceId);
        var root = trace.Span("root");
        var child = trace.Span("child");
        Assert.Equal(TraceIds.Hashed("span-1", 8), root.SpanId);
        Assert.Matches("^[0-9a-f]{16}$", child.SpanId);
        Assert.Same(root, child.Parent);
        Assert.Equal(["root", "lost"], trace.Roots.Select(r => r.Name));

        // The same input reads to the same ids every time.
        var again = await ReadAsync();
        Assert.Equal((trace.TraceId, child.SpanId), (again.TraceId, again.Span("child").SpanId));
    }

    [Fact]
    public async Task The_original_spelling_stays_visible_in_attributes_and_notes()
    {
        var trace = await ReadAsync();

        var child = trace.Span("child");
        Assert.Equal("span-2", child.Attributes[TraceIds.OriginalSpanIdKey]);
        Assert.Equal("trace-123", child.Attributes[TraceIds.OriginalTraceIdKey]);
        Assert.Equal("span-1", child.Attributes[TraceIds.OriginalParentIdKey]);
        Assert.Equal("span-9", trace.Span("lost").Attributes[TraceIds.OriginalParentIdKey]);
        Assert.Contains($"trace id 'trace-123' is not hex; shown as {trace.TraceId}", trace.Warnings);
        Assert.Contains(trace.Warnings, w => w.StartsWith("3 span id(s) are not hex") && w.Contains($"'span-1' as {trace.Span("root").SpanId}"));

        var tree = TraceCommand.Render(trace, "tree");
        Assert.Contains("note: trace id 'trace-123' is not hex", tree);
        Assert.Contains("child", tree);
    }

    [Fact]
    public async Task Process_tags_are_the_span_resource()
    {
        var trace = await ReadAsync();

        var child = trace.Span("child");
        Assert.Equal(("svc", "qemu", "tcg"), (child.Service, child.Resource["nerdbox.vm.backend"], child.Attributes["nerdbox.vm.accelerator"]));
        Assert.Equal("svc", child.Resource["service.name"]);
    }
}
