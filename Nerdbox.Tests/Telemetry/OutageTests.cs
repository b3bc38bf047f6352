using Nerdbox.Telemetry.Otlp;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Telemetry;

/// <summary>A destination that is down, slow or refusing: the caller is never held up, drops are counted, logs stay quiet.</summary>
public class OutageTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(OtlpProtocol.Grpc)]
    [InlineData(OtlpProtocol.HttpProtobuf)]
    public async Task Closed_port_never_blocks_counts_drops_and_warns_once_then_recovers(OtlpProtocol protocol)
    {
        var port = TestBatches.ClosedPort();
        var name = TestBatches.UniqueName("down");
        var endpoint = protocol == OtlpProtocol.Grpc ? new Uri($"http://127.0.0.1:{port}/") : new Uri($"http://127.0.0.1:{port}/v1/traces");
        using var logs = new CapturingLoggerProvider();
        using var loggers = logs.CreateFactory();
        using var metrics = new DropCounter(name);
        await using var sink = SpanSinks.Create(new OtlpDestination(name, protocol, endpoint), loggers);

        var batches = Enumerable.Range(0, 1000).Select(_ => TestBatches.Make(10)).ToList();
        foreach (var batch in batches) sink.Submit(batch);

        await sink.FlushAsync(Wait);
        Assert.Equal(0, sink.Stats.SpansSent);
        Assert.Equal(10_000, sink.Stats.SpansDropped);
        Assert.NotNull(sink.Stats.LastError);
        Assert.Equal(10_000, metrics.Dropped);
        var warning = Assert.Single(logs.At(LogLevel.Warning));
        Assert.Contains(name, warning);
        Assert.Contains("unreachable", warning);
        Assert.Contains("counted as dropped until it recovers", warning);

        // The collector comes up on that port: spans flow again and the recovery is logged once.
        await using var receiver = await OtlpReceiver.StartAsync(
            grpcPort: protocol == OtlpProtocol.Grpc ? port : 0, httpPort: protocol == OtlpProtocol.HttpProtobuf ? port : 0);
        var deadline = Stopwatch.StartNew();
        while (receiver.Spans.Count == 0 && deadline.Elapsed < Wait)
        {
            sink.Submit(TestBatches.Make(1));
            await sink.FlushAsync(Wait);
            if (receiver.Spans.Count == 0) await Task.Delay(200, TestContext.Current.CancellationToken);
        }
        Assert.NotEmpty(receiver.Spans);
        Assert.Equal(receiver.Spans.Count, sink.Stats.SpansSent);
        Assert.Single(logs.At(LogLevel.Warning));
        Assert.Single(logs.At(LogLevel.Information), m => m.Contains(name) && m.Contains("reachable again"));
    }

    [Theory]
    [InlineData(OtlpProtocol.Grpc)]
    [InlineData(OtlpProtocol.HttpProtobuf)]
    public async Task Each_outage_is_logged_once_and_each_recovery_once(OtlpProtocol protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var logs = new CapturingLoggerProvider();
        using var loggers = logs.CreateFactory();
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, protocol), loggers);

        receiver.Mode = ReceiverMode.Reject;
        for (var i = 0; i < 3; i++)
        {
            sink.Submit(TestBatches.Make(4));
            await sink.FlushAsync(Wait);
        }
        Assert.Equal(12, sink.Stats.SpansDropped);
        Assert.Single(logs.At(LogLevel.Warning));

        receiver.Mode = ReceiverMode.Accept;
        sink.Submit(TestBatches.Make(4));
        await sink.FlushAsync(Wait);
        Assert.Equal(4, sink.Stats.SpansSent);
        Assert.Single(logs.At(LogLevel.Information), m => m.Contains("reachable again") && m.Contains("12 spans"));

        receiver.Mode = ReceiverMode.Reject;
        sink.Submit(TestBatches.Make(1));
        await sink.FlushAsync(Wait);
        Assert.Equal(2, logs.At(LogLevel.Warning).Count);
        Assert.Equal(13, sink.Stats.SpansDropped);
    }

    [Theory]
    [InlineData(OtlpProtocol.Grpc)]
    [InlineData(OtlpProtocol.HttpProtobuf)]
    public async Task A_stalled_destination_times_out_without_holding_the_caller(OtlpProtocol protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Stall;
        using var logs = new CapturingLoggerProvider();
        using var loggers = logs.CreateFactory();
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, protocol), loggers,
            new SinkOptions { ExportTimeout = TimeSpan.FromMilliseconds(500) });

        sink.Submit(TestBatches.Make(3));
        await sink.FlushAsync(Wait);

        Assert.Equal(3, sink.Stats.SpansDropped);
        Assert.Contains("no answer within 0.5 s", sink.Stats.LastError);
        Assert.Contains("no answer within", Assert.Single(logs.At(LogLevel.Warning)));
    }

    [Fact]
    public async Task Flush_returns_after_its_timeout_when_the_destination_stalls()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Stall;
        await using var sink = SpanSinks.Create(RemoteSinkTests.Destination(receiver, OtlpProtocol.Grpc), null,
            new SinkOptions { ExportTimeout = TimeSpan.FromSeconds(30) });
        sink.Submit(TestBatches.Make(1));

        await sink.FlushAsync(TimeSpan.FromMilliseconds(300));
        // Returned with the export still in flight (its own timeout is 30 s): the flush kept to its timeout.
        Assert.Equal(new SinkStats(0, 0, null), sink.Stats);

        receiver.Mode = ReceiverMode.Accept;
        await sink.FlushAsync(Wait);
        Assert.Equal(1, sink.Stats.SpansSent);
    }

    /// <summary>Sums <c>nerdbox.otlp.spans_dropped</c> for one destination.</summary>
    private sealed class DropCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _dropped;

        public DropCounter(string destination)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Nerdbox.Shim" && instrument.Name == "nerdbox.otlp.spans_dropped")
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                    if (tag.Key == "destination" && Equals(tag.Value, destination))
                        Interlocked.Add(ref _dropped, value);
            });
            _listener.Start();
        }

        public long Dropped => Interlocked.Read(ref _dropped);

        public void Dispose() => _listener.Dispose();
    }
}
