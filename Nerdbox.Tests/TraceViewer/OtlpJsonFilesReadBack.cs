using Nerdbox.Api.Otlp;
using Google.Protobuf;
using Nerdbox.TraceViewer;
using Nerdbox.TraceViewer.Sources;
using OpenTelemetry.Proto.Trace.V1;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>OTLP JSON files read back as the trace that was written, and bad files say what is wrong.</summary>
public sealed class OtlpJsonFilesReadBack : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _dir = Directory.CreateTempSubdirectory("nerdbox-trace-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, text);
        return path;
    }

    private static readonly S[] Boot =
    [
        new(1, null, "shim.Run", 0, 120),
        new(2, 1, "shim.VMBoot", 2, 80),
        new(3, 2, "vm.WaitForAgent", 10, 79.5),
        new(4, 1, "task.Create", 81, 100, "nerdbox-vm"),
        new(5, 4, "crun.create", 82, 99, "nerdbox-vm", Error: true),
    ];

    [Fact]
    public async Task Protobuf_written_as_json_reads_back_as_the_same_trace()
    {
        // Protobuf's own JSON writer: base64 ids, enum names, 64-bit numbers as strings.
        var data = new TracesData();
        data.ResourceSpans.AddRange(Batches(Boot));
        var path = Write(JsonFormatter.Default.Format(data));

        var fromFile = await new OtlpFileSource(path).GetAsync(null, Ct);
        var inMemory = await new InMemoryOtlpSource(data.ResourceSpans).GetAsync(null, Ct);

        Assert.Equal(TraceId, fromFile.TraceId);
        Assert.Equal(Describe(inMemory), Describe(fromFile));
        Assert.Equal(5, fromFile.Spans.Count);
        Assert.Equal(["shim.Run"], fromFile.Roots.Select(r => r.Name));
        Assert.Equal(["nerdbox", "nerdbox-vm"], fromFile.Services);
        var crun = fromFile.Span("crun.create");
        Assert.Equal(("it failed", "5", "task.Create"), (crun.StatusMessage, crun.Attributes["n"], crun.Parent!.Name));
        Assert.Equal(120, fromFile.DurationMs, 6);
    }

    [Fact]
    public async Task A_file_of_one_request_per_line_reads_back_whole()
    {
        // As the run verb's --trace-file writes it: the OTLP file format, one export request a line.
        var path = Path.Combine(_dir, "run.jsonl");
        await using (var sink = new Nerdbox.Telemetry.Sinks.OtlpJsonFileSink(path))
        {
            foreach (var batch in Batches(Boot))
            {
                sink.Submit(batch);
                await sink.FlushAsync(TimeSpan.FromSeconds(20));
            }
        }
        Assert.True(File.ReadAllLines(path).Length > 1, "the sink wrote one line");

        var fromFile = await new OtlpFileSource(path).GetAsync(null, Ct);

        Assert.Equal(Boot.Length, fromFile.Spans.Count);
        Assert.Equal(["shim.Run"], fromFile.Roots.Select(r => r.Name));
        Assert.Equal(["nerdbox", "nerdbox-vm"], fromFile.Services.Order());
    }

    private static List<string> Describe(TraceModel t) =>
        t.Spans.Select(s => $"{s.SpanId} {s.ParentId} {s.Name} {s.Service} {s.StartUnixNano} {s.EndUnixNano} {s.IsError} {s.Depth}").ToList();

    [Fact]
    public async Task Spec_otlp_json_with_hex_ids_reads_with_services_and_parents()
    {
        var path = Write($$$"""
            {"resourceSpans":[
              {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"nerdbox"}}]},
               "scopeSpans":[{"scope":{"name":"Nerdbox.Shim"},"spans":[
                 {"traceId":"{{{TraceId.ToUpperInvariant()}}}","spanId":"00000000000000A1","name":"shim.Run","kind":1,
                  "startTimeUnixNano":"1763000000000000000","endTimeUnixNano":"1763000000050000000",
                  "attributes":[{"key":"bundle","value":{"stringValue":"/b"}},{"key":"ok","value":{"boolValue":true}},
                                {"key":"tries","value":{"intValue":"3"}},{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":2}]}} }]}]}]},
              {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"nerdbox-vm"}}]},
               "scopeSpans":[{"spans":[
                 {"traceId":"{{{TraceId}}}","spanId":"00000000000000b2","parentSpanId":"00000000000000a1","name":"task.Start",
                  "startTimeUnixNano":1763000000010000000,"endTimeUnixNano":1763000000040000000,"status":{"code":2,"message":"exit 1"}}]}]}]}
            """);

        var trace = await new OtlpFileSource(path).GetAsync(TraceId, Ct);

        var root = Assert.Single(trace.Roots);
        Assert.Equal(("00000000000000a1", "shim.Run", "nerdbox"), (root.SpanId, root.Name, root.Service));
        Assert.Equal("/b|true|3|[a, 2]", string.Join('|', root.Attributes["bundle"], root.Attributes["ok"], root.Attributes["tries"], root.Attributes["tags"]));
        var child = Assert.Single(root.Children);
        Assert.Equal(("task.Start", "nerdbox-vm", true, "exit 1"), (child.Name, child.Service, child.IsError, child.StatusMessage));
        Assert.Equal(30, child.DurationMs, 6);
        Assert.Equal(10, trace.OffsetMs(child.StartUnixNano), 6);
    }

    [Fact]
    public async Task A_file_with_several_traces_gives_the_one_asked_for_or_the_newest()
    {
        const string other = "ffffffffffffffffffffffffffffffff";
        var data = new TracesData();
        data.ResourceSpans.AddRange(Batches(new S(1, null, "old run", 0, 10), new S(2, null, "new run", 5000, 5010, "nerdbox-vm", TraceId: other)));
        var path = Write(JsonFormatter.Default.Format(data));
        var file = new OtlpFileSource(path);

        Assert.Equal("old run", (await file.GetAsync(TraceId, Ct)).Roots[0].Name);
        Assert.Equal("new run", (await file.GetAsync(null, Ct)).Roots[0].Name);
        Assert.Equal("old run", (await new OtlpFileSource(path, "nerdbox").GetAsync(null, Ct)).Roots[0].Name);

        var missing = await Assert.ThrowsAsync<TraceViewerException>(() => file.GetAsync("1234", Ct));
        Assert.Contains("trace 1234 is not in the response", missing.Message);
        Assert.Contains(TraceId, missing.Message);
        Assert.Contains(other, missing.Message);

        var noService = await Assert.ThrowsAsync<TraceViewerException>(() => new OtlpFileSource(path, "postgres").GetAsync(null, Ct));
        Assert.Contains("no trace has spans from service 'postgres'; services seen: nerdbox, nerdbox-vm", noService.Message);
    }

    [Theory]
    [InlineData("{\"resourceSpans\": [", "not valid JSON (line 1")]
    [InlineData("   ", "the response is empty")]
    [InlineData("[1, 2]", "no 'resourceSpans' found")]
    [InlineData("{\"spans\": 3}", "no 'resourceSpans' found")]
    [InlineData("{\"resourceSpans\": []}", "no spans in the response")]
    [InlineData("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\",\"traceId\":\"0af7651916cd43dd8448eb211c80319c\"}]}]}]}", "span 'x' has no spanId")]
    [InlineData("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\",\"traceId\":\"zz\",\"spanId\":\"00000000000000a1\"}]}]}]}", "traceId 'zz' is neither hex nor base64")]
    [InlineData("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\",\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"a1\",\"parentSpanId\":\"??\"}]}]}]}", "parentSpanId '??' is not a span id")]
    [InlineData("{\"result\": {\"error\": 1}, \"error\": {\"httpCode\": 404, \"message\": \"trace not found\"}}", "the server answered with an error: trace not found")]
    public async Task Malformed_files_say_what_is_wrong_and_where(string content, string expected)
    {
        var path = Write(content);

        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new OtlpFileSource(path).GetAsync(null, Ct));

        Assert.Contains(expected, e.Message);
        Assert.StartsWith($"file {path}", e.Message);
    }

    [Fact]
    public async Task A_missing_file_is_reported()
    {
        var path = Path.Combine(_dir, "nope.json");
        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new OtlpFileSource(path).GetAsync(null, Ct));
        Assert.Contains($"file {path}: cannot read it", e.Message);
    }

    [Fact]
    public async Task In_memory_spans_with_a_bad_id_are_reported()
    {
        var batches = Batches(new S(1, null, "run", 0, 1));
        batches[0].ScopeSpans[0].Spans[0].SpanId = ByteString.CopyFromUtf8("abc");
        var e = await Assert.ThrowsAsync<TraceViewerException>(() => new InMemoryOtlpSource(batches).GetAsync(null, Ct));
        Assert.Contains("span 'run': span id has 3 bytes, not 8", e.Message);
    }
}
