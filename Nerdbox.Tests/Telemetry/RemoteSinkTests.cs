using Nerdbox.Telemetry.Otlp;
using System.Diagnostics;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Tests.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Nerdbox.Tests.Telemetry;

/// <summary>The gRPC and HTTP sinks against a real OTLP receiver: what arrives, and how it is counted.</summary>
public class RemoteSinkTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    internal static OtlpDestination Destination(OtlpReceiver receiver, OtlpProtocol protocol, string? name = null,
        IReadOnlyDictionary<string, string>? headers = null) =>
        new(name ?? TestBatches.UniqueName(protocol.ToString().ToLowerInvariant()), protocol,
            protocol == OtlpProtocol.Grpc ? receiver.GrpcEndpoint : receiver.HttpEndpoint,
            headers ?? new Dictionary<string, string>(), TimeSpan.FromSeconds(10));

    [Theory]
    [InlineData(OtlpProtocol.Grpc)]
    [InlineData(OtlpProtocol.HttpProtobuf)]
    public async Task Sink_delivers_batches_with_ids_intact(OtlpProtocol protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var headers = new Dictionary<string, string> { ["x-api-key"] = "s3cret=" };
        await using var sink = SpanSinks.Create(Destination(receiver, protocol, headers: headers));

        var host = TestBatches.Make(3, "nerdbox");
        var guest = TestBatches.Make(2, "nerdbox-vm");
        sink.Submit(host);
        sink.Submit(guest);
        await sink.FlushAsync(Wait);

        var spans = await receiver.WaitForSpansAsync(s => s.Count == 5, Wait);
        foreach (var expected in host.AllSpans())
        {
            var got = Assert.Single(spans, s => s.Span.SpanId == expected.SpanId);
            Assert.Equal("nerdbox", got.ServiceName);
            Assert.Equal(expected.TraceId, got.Span.TraceId);
            Assert.Equal(expected.ParentSpanId, got.Span.ParentSpanId);
            Assert.Equal(expected.StartTimeUnixNano, got.Span.StartTimeUnixNano);
        }
        Assert.Equal(2, spans.Count(s => s.ServiceName == "nerdbox-vm"));
        Assert.Equal(new SinkStats(5, 0, null), sink.Stats);
        Assert.All(receiver.RequestHeaders, h => Assert.Equal("s3cret=", h["x-api-key"]));
        Assert.True(receiver.RequestCount <= 2); // batches submitted together may share one request
    }

    [Theory]
    [InlineData(OtlpProtocol.Grpc)]
    [InlineData(OtlpProtocol.HttpProtobuf)]
    public async Task Partial_success_rejections_count_as_dropped(OtlpProtocol protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectSpansInResponse = 2;
        using var logs = new CapturingLoggerProvider();
        using var loggers = logs.CreateFactory();
        await using var sink = SpanSinks.Create(Destination(receiver, protocol), loggers);

        sink.Submit(TestBatches.Make(5));
        await sink.FlushAsync(Wait);

        Assert.Equal(3, sink.Stats.SpansSent);
        Assert.Equal(2, sink.Stats.SpansDropped);
        Assert.Contains("rejected 2 spans", sink.Stats.LastError);
        Assert.Single(logs.At(Microsoft.Extensions.Logging.LogLevel.Warning), m => m.Contains("rejected 2 of 5 spans"));
    }

    [Fact]
    public async Task Sink_sends_nothing_that_tracing_would_pick_up()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var port = receiver.HttpEndpoint.Port;
        var captured = new InMemorySpanSink();
        // Listens to HttpClient's own spans, as an app with HTTP instrumentation would.
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource("System.Net.Http")
            .AddSpanSink(captured, ExportProcessorType.Simple)
            .Build();
        await using var sink = SpanSinks.Create(Destination(receiver, OtlpProtocol.HttpProtobuf));

        sink.Submit(TestBatches.Make(2));
        await sink.FlushAsync(Wait);
        await receiver.WaitForSpansAsync(s => s.Count == 2, Wait);

        // A plain request to the same port shows the listener does see HttpClient calls.
        using (var http = new HttpClient())
            await http.GetAsync(receiver.HttpEndpoint, TestContext.Current.CancellationToken);

        var toReceiver = captured.Snapshot().SelectMany(b => b.AllSpans())
            .Where(s => s.Attributes.Any(a => a.Key == "server.port" && a.Value.IntValue == port))
            .ToList();
        var methods = toReceiver.Select(s => s.Attributes.First(a => a.Key == "http.request.method").Value.StringValue).ToList();
        Assert.Equal(["GET"], methods);
    }
}
