using Grpc.Core;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;

namespace Nerdbox.Tests.Telemetry;

/// <summary>Retries against a real receiver: retryable answers are tried again (after the pause asked for), others are not.</summary>
public class RetryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Http_503_with_retry_after_is_retried_after_the_pause_and_delivered_once(bool asDate)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectNext(1, new Rejection(503, RetryAfter: TimeSpan.FromSeconds(2), RetryAfterAsDate: asDate));
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.HttpProtobuf));

        sink.Submit(TestBatches.Make(3));
        await sink.FlushAsync(Wait);

        Assert.Equal(new SinkStats(3, 0, null) { Retries = 1 }, sink.Stats);
        Assert.Equal(3, receiver.Spans.Count); // once, not twice
        var arrivals = receiver.RequestArrivals;
        Assert.Equal(2, arrivals.Count);
        // An HTTP date has whole seconds, so it may ask for a little less than two.
        Assert.True(arrivals[1] - arrivals[0] >= TimeSpan.FromSeconds(asDate ? 0.9 : 1.9), $"retried after {arrivals[1] - arrivals[0]}");
    }

    [Theory]
    [InlineData(429)]
    [InlineData(502)]
    [InlineData(504)]
    public async Task Other_retryable_http_statuses_are_retried(int status)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectNext(2, new Rejection(status));
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.HttpProtobuf));

        sink.Submit(TestBatches.Make(2));
        await sink.FlushAsync(Wait);

        Assert.Equal(new SinkStats(2, 0, null) { Retries = 2 }, sink.Stats);
        Assert.Equal(3, receiver.RequestCount);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(500)]
    public async Task A_non_retryable_http_status_is_not_retried(int status)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectNext(1, new Rejection(status, RetryAfter: TimeSpan.FromSeconds(1)));
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.HttpProtobuf));

        sink.Submit(TestBatches.Make(2));
        await sink.FlushAsync(Wait);

        Assert.Equal(1, receiver.RequestCount);
        Assert.Equal(2, sink.Stats.SpansDropped);
        Assert.Equal(0, sink.Stats.Retries);
        Assert.Contains($"HTTP {status}", sink.Stats.LastError);
    }

    [Theory]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.Aborted)]
    [InlineData(StatusCode.DeadlineExceeded)]
    [InlineData(StatusCode.DataLoss)]
    public async Task Grpc_retryable_status_then_ok_is_delivered(StatusCode status)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectNext(1, new Rejection(GrpcStatus: status));
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc));

        sink.Submit(TestBatches.Make(4));
        await sink.FlushAsync(Wait);

        Assert.Equal(new SinkStats(4, 0, null) { Retries = 1 }, sink.Stats);
        Assert.Equal(4, receiver.Spans.Count);
    }

    [Fact]
    public async Task Grpc_resource_exhausted_is_retried_only_with_retry_info_and_after_its_delay()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc));

        receiver.RejectNext(1, new Rejection(GrpcStatus: StatusCode.ResourceExhausted));
        sink.Submit(TestBatches.Make(1));
        await sink.FlushAsync(Wait);
        Assert.Equal(new SinkStats(0, 1, sink.Stats.LastError), sink.Stats);
        Assert.Contains("ResourceExhausted", sink.Stats.LastError);

        receiver.RejectNext(1, new Rejection(GrpcStatus: StatusCode.ResourceExhausted, RetryAfter: TimeSpan.FromSeconds(1.5)));
        sink.Submit(TestBatches.Make(2));
        await sink.FlushAsync(Wait);
        Assert.Equal(2, sink.Stats.SpansSent);
        Assert.Equal(1, sink.Stats.Retries);
        var arrivals = receiver.RequestArrivals;
        Assert.Equal(3, arrivals.Count);
        Assert.True(arrivals[2] - arrivals[1] >= TimeSpan.FromSeconds(1.4), $"retried after {arrivals[2] - arrivals[1]}");
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.Unauthenticated)]
    [InlineData(StatusCode.Unimplemented)]
    public async Task A_non_retryable_grpc_status_is_not_retried(StatusCode status)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectNext(1, new Rejection(GrpcStatus: status));
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc));

        sink.Submit(TestBatches.Make(2));
        await sink.FlushAsync(Wait);

        Assert.Equal(1, receiver.RequestCount);
        Assert.Equal(new SinkStats(0, 2, sink.Stats.LastError), sink.Stats);
    }

    [Theory]
    [InlineData(OtlpProtocol.Grpc)]
    [InlineData(OtlpProtocol.HttpProtobuf)]
    public async Task Retries_stop_at_the_export_timeout_and_the_spans_count_as_dropped(OtlpProtocol protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectNext(100, new Rejection(RetryAfter: TimeSpan.FromSeconds(1)));
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, protocol), null,
            new SinkOptions { ExportTimeout = TimeSpan.FromSeconds(2.5), Retry = RetryPolicy.Default with { MaxAttempts = 100 } });

        sink.Submit(TestBatches.Make(2));
        await sink.FlushAsync(Wait);

        // One try, then a retry a second later, then perhaps another (on a loaded machine the first try's
        // connection can take long enough to leave no room for it): a third pause would pass the 2.5 s.
        Assert.InRange(receiver.RequestCount, 2, 3);
        Assert.Equal(receiver.RequestCount - 1, sink.Stats.Retries);
        Assert.Equal(2, sink.Stats.SpansDropped);
        Assert.Contains($"after {receiver.RequestCount} attempts", sink.Stats.LastError);
    }

    [Fact]
    public async Task The_attempts_are_bounded_by_the_policy()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.RejectNext(100);
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc), null,
            new SinkOptions { Retry = RetryPolicy.Default with { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(10) } });

        sink.Submit(TestBatches.Make(1));
        await sink.FlushAsync(Wait);

        Assert.Equal(3, receiver.RequestCount);
        Assert.Equal(2, sink.Stats.Retries);
        Assert.Equal(1, sink.Stats.SpansDropped);
    }
}
