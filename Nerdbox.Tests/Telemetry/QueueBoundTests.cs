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

    [Fact]
    public async Task Waiting_for_room_in_a_full_queue_ends_when_the_stalled_export_is_released_and_then_nothing_is_dropped()
    {
        var (receiver, sink) = await StalledAsync(new SinkOptions { MaxQueuedSpans = 100, MaxRoomWait = TimeSpan.FromMinutes(10) });
        await using var _ = receiver;
        await using var __ = sink;
        for (var i = 0; i < 10; i++) sink.Submit(TestBatches.Make(10)); // full

        // There is room for a batch that fits beside what is queued; none for one more of ten.
        Assert.True(sink.WaitForRoomAsync(0, CancellationToken.None).IsCompletedSuccessfully);
        var wait = sink.WaitForRoomAsync(10, CancellationToken.None).AsTask();
        Assert.False(wait.IsCompleted); // the destination is up (it holds the request) and the bound is ten minutes
        receiver.Mode = ReceiverMode.Accept;
        await wait.WaitAsync(Wait);
        sink.Submit(TestBatches.Make(10));
        await sink.FlushAsync(Wait);
        Assert.Equal(new SinkStats(111, 0, null) { RoomWaits = 1 }, sink.Stats);
    }

    [Fact]
    public async Task A_batch_larger_than_the_whole_queue_and_a_disposed_sink_are_not_waited_for_and_a_wait_can_be_cancelled()
    {
        var (receiver, sink) = await StalledAsync(new SinkOptions { MaxQueuedSpans = 100, MaxRoomWait = TimeSpan.FromMinutes(10) });
        await using var _ = receiver;
        for (var i = 0; i < 10; i++) sink.Submit(TestBatches.Make(10));

        Assert.True(sink.WaitForRoomAsync(101, CancellationToken.None).IsCompletedSuccessfully);
        using var cancel = new CancellationTokenSource();
        var cancelled = sink.WaitForRoomAsync(10, cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        var waiting = sink.WaitForRoomAsync(10, CancellationToken.None).AsTask();
        await sink.DisposeAsync();
        await waiting.WaitAsync(Wait); // a closed queue ends every wait
        Assert.True(sink.WaitForRoomAsync(10, CancellationToken.None).IsCompletedSuccessfully);
        Assert.Equal(0, sink.Stats.RoomWaitsRanOut);
    }
}
