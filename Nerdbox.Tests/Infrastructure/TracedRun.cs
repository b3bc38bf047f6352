using System.Diagnostics;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nerdbox.Tests.Infrastructure;

/// <summary>
/// The shim's tracing as it runs for real, pointed at a real OTLP/gRPC receiver: host spans through
/// the SDK and the host span exporter, guest spans through the relay, both into one sink set.
/// Also watches that every host span that starts also ends.
/// </summary>
public sealed class TracedRun : IAsyncDisposable
{
    private readonly TracerProvider _provider;
    private readonly ActivityListener _openSpans;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _open = new();

    private TracedRun(OtlpReceiver receiver)
    {
        Receiver = receiver;
        Sinks = SpanSinks.Create([new OtlpDestination("test-receiver", OtlpProtocol.Grpc, receiver.GrpcEndpoint)]);
        _provider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(ShimTracing.ServiceName))
            .AddSource(ShimTracing.SourceName)
            .AddSpanSink(Sinks)
            .Build()!;
        _openSpans = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ShimTracing.SourceName,
            ActivityStarted = a => _open[a.TraceId + "/" + a.SpanId] = 0,
            ActivityStopped = a => _open.TryRemove(a.TraceId + "/" + a.SpanId, out _),
        };
        ActivitySource.AddActivityListener(_openSpans);
    }

    public OtlpReceiver Receiver { get; }
    public SpanSinkSet Sinks { get; }
    /// <summary>Host spans of <paramref name="traceId"/> that started and have not ended.</summary>
    public int OpenHostSpans(string traceId) => _open.Keys.Count(k => k.StartsWith(traceId + "/", StringComparison.Ordinal));

    public static async Task<TracedRun> StartAsync() => new(await OtlpReceiver.StartAsync());

    /// <summary>Flushes both pipelines and returns the spans of <paramref name="traceId"/> once <paramref name="complete"/> holds.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> CollectAsync(string traceId, Func<IReadOnlyList<ReceivedSpan>, bool> complete)
    {
        _provider.ForceFlush(10_000);
        await Sinks.FlushAsync(TimeSpan.FromSeconds(10));
        var spans = await Receiver.WaitForSpansAsync(all => complete(all.Where(s => Hex(s.Span.TraceId) == traceId).ToList()), TimeSpan.FromSeconds(30));
        return spans.Where(s => Hex(s.Span.TraceId) == traceId).ToList();
    }

    public static string Hex(Google.Protobuf.ByteString b) => Convert.ToHexString(b.Span).ToLowerInvariant();

    public async ValueTask DisposeAsync()
    {
        _openSpans.Dispose();
        _provider.Dispose();
        await Sinks.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}
