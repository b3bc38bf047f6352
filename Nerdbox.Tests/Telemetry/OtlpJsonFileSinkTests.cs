using Nerdbox.Api.Otlp;
using System.Text.Json;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Nerdbox.Telemetry.Otlp;

namespace Nerdbox.Tests.Telemetry;

public class OtlpJsonFileSinkTests
{
    [Fact]
    public async Task Writes_one_otlp_json_request_per_line_with_hex_ids_and_string_nanos()
    {
        var dir = Path.Combine(Path.GetTempPath(), TestBatches.UniqueName("nerdbox-json"));
        var path = Path.Combine(dir, "sub", "trace.jsonl");
        try
        {
            var first = TestBatches.Make(2, "nerdbox");
            var second = TestBatches.Make(1, "nerdbox-vm");
            await using (var sink = new OtlpJsonFileSink(path))
            {
                sink.Submit(first);
                await sink.FlushAsync(TimeSpan.FromSeconds(20));
                sink.Submit(second);
                await sink.FlushAsync(TimeSpan.FromSeconds(20));
                Assert.Equal(new SinkStats(3, 0, null), sink.Stats);
            }

            var lines = await File.ReadAllLinesAsync(path, TestContext.Current.CancellationToken);
            Assert.Equal(2, lines.Length);

            // The raw shape other OTLP file readers rely on.
            using var doc = JsonDocument.Parse(lines[0]);
            var span = doc.RootElement.GetProperty("resourceSpans")[0].GetProperty("scopeSpans")[0].GetProperty("spans")[1];
            var expected = first.ScopeSpans[0].Spans[1];
            Assert.Equal(TestBatches.Hex(expected.TraceId), span.GetProperty("traceId").GetString());
            Assert.Equal(TestBatches.Hex(expected.SpanId), span.GetProperty("spanId").GetString());
            Assert.Equal(TestBatches.Hex(expected.ParentSpanId), span.GetProperty("parentSpanId").GetString());
            Assert.Matches("^[0-9a-f]{32}$", span.GetProperty("traceId").GetString());
            Assert.Equal(JsonValueKind.String, span.GetProperty("startTimeUnixNano").ValueKind);
            Assert.Equal(expected.StartTimeUnixNano.ToString(), span.GetProperty("startTimeUnixNano").GetString());
            Assert.Equal(JsonValueKind.Number, span.GetProperty("kind").ValueKind);

            // And it reads back to the same data.
            Assert.Equal(new ExportTraceServiceRequest { ResourceSpans = { first } }, OtlpJson.Parse(lines[0]));
            Assert.Equal(new ExportTraceServiceRequest { ResourceSpans = { second } }, OtlpJson.Parse(lines[1]));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
