using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Telemetry;

/// <summary>The queue's bounds, made exact by stalling the one export in flight.</summary>
public class QueueBoundTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static async Task<(OtlpReceiver Receiver, QueuedSpanSink Sink)> StalledAsync(SinkOptions options)
    {
        var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Stall;
        var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc), null,
            options with { ExportTimeout = TimeSpan.FromSeconds(60) });
        // One span goes out and hangs: from here on the queue only fills.
        sink.Submit(TestBatches.Make(1));
        await receiver.WaitForRequestsAsync(1, Wait);
        return (receiver, sink);
    }

    [Fact]
    public async Task Overflowing_the_span_bound_drops_exactly_the_excess()
    {
        var (receiver, sink) = await StalledAsync(new SinkOptions { MaxQueuedSpans = 100 });
        await using var _ = receiver;
        await using var __ = sink;

        for (var i = 0; i < 10; i++) sink.Submit(TestBatches.Make(10)); // fills the queue exactly
        for (var i = 0; i < 7; i++) sink.Submit(TestBatches.Make(3));   // none of these fit
        Assert.Equal(21, sink.Stats.SpansDropped);
        Assert.Equal(0, sink.Stats.SpansSent);

        receiver.Mode = ReceiverMode.Accept;
        await sink.FlushAsync(Wait);
        Assert.Equal(new SinkStats(101, 21, null), sink.Stats);
        Assert.Equal(101, receiver.Spans.Count);
        Assert.Equal(2, receiver.RequestCount); // the ten queued batches went out as one request
    }

    [Fact]
    public async Task Overflowing_the_batch_bound_drops_whole_batches()
    {
        var (receiver, sink) = await StalledAsync(new SinkOptions { MaxQueuedBatches = 5 });
        await using var _ = receiver;
        await using var __ = sink;

        for (var i = 0; i < 8; i++) sink.Submit(TestBatches.Make(2));
        Assert.Equal(6, sink.Stats.SpansDropped);

        receiver.Mode = ReceiverMode.Accept;
        await sink.FlushAsync(Wait);
        Assert.Equal(new SinkStats(11, 6, null), sink.Stats);
    }

    [Fact]
    public async Task Disposing_counts_what_was_still_queued_as_dropped()
    {
        var (receiver, sink) = await StalledAsync(SinkOptions.Default);
        await using var _ = receiver;

        sink.Submit(TestBatches.Make(4));
        await sink.DisposeAsync();
        sink.Submit(TestBatches.Make(2)); // after disposal: dropped, not thrown

        Assert.Equal(0, sink.Stats.SpansSent);
        Assert.Equal(1 + 4 + 2, sink.Stats.SpansDropped);
    }
}
