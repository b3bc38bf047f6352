using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Tests.Telemetry;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// Flow control from the sinks back to the guest, with every part real: the agent as a host process
/// making a burst of spans (<c>--generate-spans</c>), the relay reading its stream over gRPC, OTLP/gRPC
/// sinks, and an OTLP receiver that stalls on demand. A sink that is full but up holds the relay (and
/// through HTTP/2 flow control the guest, whose buffer absorbs the burst); a sink that is down never
/// does; a sink that stays wedged past the bound is given up on, its drops counted.
/// </summary>
public sealed class RelayFlowControlTests
{
    private const int Burst = 20_000; // more than the guest buffer's 16384, so the guest must be held back too
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(3);

    // Small enough that the burst cannot fit: without flow control, most of it would be dropped at the sink.
    private static readonly SinkOptions SmallQueue = new()
    {
        MaxQueuedSpans = 1024,
        MaxSpansPerExport = GuestSpanRelay.BatchSpans,
        // Long enough never to end an export or a wait within a test, unless a test says otherwise.
        ExportTimeout = TimeSpan.FromMinutes(10),
        MaxRoomWait = TimeSpan.FromMinutes(10),
    };

    private static GuestSpanRelay Relay(HostAgent agent, ISpanSink sink) =>
        new(agent.Client.Traces, new ClockEstimate(0, 0, DateTime.UtcNow, 0, 1), sink, RelayBounds.Default,
            DateTime.UtcNow.AddMinutes(-1), new Dictionary<string, string> { ["service.instance.id"] = "flow-control" });

    private static QueuedSpanSink DownSink(SinkOptions options) =>
        SpanSinks.Create(new OtlpDestination("down", OtlpProtocol.Grpc, new Uri($"http://127.0.0.1:{TestBatches.ClosedPort()}/")), null, options);

    private static async Task WaitUntilAsync(Func<bool> condition, string what, Func<string> state)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (!condition())
        {
            if (timeout.IsCancellationRequested) Assert.Fail($"{what} did not happen within {Wait.TotalMinutes} min: {state()}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_stalled_then_released_receiver_loses_no_span_while_the_guest_buffer_has_room_and_a_down_sink_beside_it_is_not_waited_for()
    {
        await using var agent = await HostAgent.StartAsync("--generate-spans", Burst.ToString());
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Stall;
        var live = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc, "live"), null, SmallQueue);
        var down = DownSink(SmallQueue);
        await using var sinks = new SpanSinkSet([live, down]);
        await using var relay = Relay(agent, sinks);
        string State() => $"relay: {relay.Stats}; live sink: {live.Stats}; down sink: {down.Stats}; receiver: {receiver.SpanCount}";

        relay.Start();
        await WaitUntilAsync(() => live.Stats.RoomWaits > 0, "the relay waiting for room in the live sink", State);
        // Held: the relay has no more than one export in flight, a full queue and the batch in hand.
        Assert.True(relay.Stats.Received <= 2 * GuestSpanRelay.BatchSpans + SmallQueue.MaxQueuedSpans, State());
        Assert.Equal(0, live.Stats.SpansDropped);

        receiver.Mode = ReceiverMode.Accept;
        Assert.True(await receiver.WaitForSpanCountAsync(Burst, Wait), State());
        await sinks.FlushAsync(Wait);

        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest());
        Assert.Equal((ulong)Burst, drain.SpansRecorded);
        Assert.Equal(0UL, drain.Stats.SpansDropped);
        Assert.Equal(Burst, relay.Stats.Forwarded);
        Assert.Equal(0, relay.Stats.DroppedByHost);
        Assert.Equal(new SinkStats(Burst, 0, null) { RoomWaits = live.Stats.RoomWaits }, live.Stats);
        Assert.Equal(0, live.Stats.RoomWaitsRanOut);
        Assert.Equal(Burst, receiver.Spans.Select(s => s.Span.SpanId).Distinct().Count());
        // The down sink took its share of every batch and dropped it, counted.
        Assert.Equal(0, down.Stats.SpansSent);
        Assert.Equal(Burst, down.Stats.SpansDropped);
    }

    [Fact]
    public async Task A_down_sink_does_not_hold_the_relay_which_reads_on_and_counts_the_spans_dropped()
    {
        await using var agent = await HostAgent.StartAsync("--generate-spans", Burst.ToString());
        // Were the relay to wait for this sink at all, its ten-minute bound would outlast the test.
        var down = DownSink(SmallQueue);
        await using var _ = down;
        await using var relay = Relay(agent, down);
        relay.Start();
        await WaitUntilAsync(() => relay.Stats.Received == Burst, "the relay reading the whole burst", () => $"relay: {relay.Stats}; sink: {down.Stats}");
        Assert.True(await relay.DrainAsync(Wait), relay.Stats.ToString());
        await down.FlushAsync(Wait);

        Assert.Equal(0, relay.Stats.GuestDroppedSpans);
        Assert.Equal(Burst, relay.Stats.Forwarded);
        Assert.Equal(0, down.Stats.SpansSent);
        Assert.Equal(Burst, down.Stats.SpansDropped);
        Assert.Equal(0, down.Stats.RoomWaitsRanOut);
        Assert.NotNull(down.Stats.LastError);
    }

    [Fact]
    public async Task A_sink_wedged_past_the_bound_is_given_up_on_once_and_its_drops_are_counted()
    {
        await using var agent = await HostAgent.StartAsync("--generate-spans", Burst.ToString());
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Stall;
        // The export never times out here; only the bound on waiting for room lets the relay go on.
        var wedged = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc, "wedged"), null,
            SmallQueue with { MaxRoomWait = TimeSpan.FromSeconds(1) });
        await using var _ = wedged;
        await using var relay = Relay(agent, wedged);
        string State() => $"relay: {relay.Stats}; sink: {wedged.Stats}; receiver: {receiver.SpanCount}";

        relay.Start();
        await WaitUntilAsync(() => relay.Stats.Received == Burst, "the relay reading the whole burst", State);
        Assert.True(await relay.DrainAsync(Wait), State());
        // One wait ran out; from then on the sink counts as stalled and nobody waits for it until it delivers.
        Assert.Equal(1, wedged.Stats.RoomWaits);
        Assert.Equal(1, wedged.Stats.RoomWaitsRanOut);
        var dropped = wedged.Stats.SpansDropped;
        Assert.True(dropped >= Burst - 2 * GuestSpanRelay.BatchSpans - SmallQueue.MaxQueuedSpans, State());

        // Released, the sink delivers what it held; every span is sent or counted dropped.
        receiver.Mode = ReceiverMode.Accept;
        await wedged.FlushAsync(Wait);
        Assert.Equal(0, relay.Stats.GuestDroppedSpans);
        Assert.Equal(Burst, relay.Stats.Forwarded);
        Assert.Equal(dropped, wedged.Stats.SpansDropped);
        Assert.Equal(Burst, wedged.Stats.SpansSent + wedged.Stats.SpansDropped);
        Assert.Equal(wedged.Stats.SpansSent, receiver.SpanCount);
    }
}
