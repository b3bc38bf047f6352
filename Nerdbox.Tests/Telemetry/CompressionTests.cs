using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;

namespace Nerdbox.Tests.Telemetry;

/// <summary>OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION=gzip: the request arrives compressed and reads back whole.</summary>
public class CompressionTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(OtlpProtocol.Grpc, "grpc-encoding")]
    [InlineData(OtlpProtocol.HttpProtobuf, "content-encoding")]
    public async Task Gzip_from_the_environment_variable_compresses_the_request(OtlpProtocol protocol, string header)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var endpoint = protocol == OtlpProtocol.Grpc ? receiver.GrpcEndpoint : receiver.HttpEndpoint;
        var destination = Assert.Single(OtlpConfiguration.Parse(TestSettings.Of(
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.ToString()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", OtlpDestination.ProtocolName(protocol)),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"))));
        await using var sink = SpanSinks.Create(destination);

        var batch = TestBatches.Make(5);
        sink.Submit(batch);
        await sink.FlushAsync(Wait);

        var spans = await receiver.WaitForSpansAsync(s => s.Count == 5, Wait);
        Assert.Equal(batch.AllSpans().Select(s => TestBatches.Hex(s.SpanId)).Order(), spans.Select(s => TestBatches.Hex(s.Span.SpanId)).Order());
        Assert.All(receiver.RequestHeaders, h => Assert.Equal("gzip", h[header]));
    }

    [Theory]
    [InlineData(OtlpProtocol.Grpc, "grpc-encoding")]
    [InlineData(OtlpProtocol.HttpProtobuf, "content-encoding")]
    public async Task Without_compression_nothing_is_compressed(OtlpProtocol protocol, string header)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, protocol));

        sink.Submit(TestBatches.Make(1));
        await sink.FlushAsync(Wait);

        await receiver.WaitForSpansAsync(s => s.Count == 1, Wait);
        Assert.All(receiver.RequestHeaders, h => Assert.True(!h.TryGetValue(header, out var v) || v is "identity", $"{header}: {v}"));
    }
}
