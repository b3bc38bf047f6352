using Google.Protobuf;
using Grpc.Net.Client;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// Workload telemetry on the host's side: hand-built guest batches carrying containers' own spans and log
/// records go through <see cref="GuestSpanRelay.ForwardAsync"/> and real OTLP sinks (gRPC for spans, gRPC and
/// HTTP for logs) to a real receiver. They keep their own resource and service name, gain container.id and
/// the VM's identity, are clock-corrected like the agent's spans, bounded, and counted per container.
/// </summary>
public sealed class WorkloadRelayTests : IAsyncLifetime
{
    private const long OffsetNs = 7_000_000; // the guest's clock is 7 ms ahead
    private const long UncertaintyNs = 150_000;
    private const string VmId = "vm-wl";
    private static readonly ClockEstimate Clock = new(OffsetNs, UncertaintyNs, DateTime.UtcNow.AddSeconds(-30), 1_200_000_000, 8);
    private static readonly KeyValuePair<string, string>[] RanOn = [new("nerdbox.vm.backend", "qemu")];

    // Never called: nothing here subscribes to a stream.
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress("http://127.0.0.1:1");
    private readonly DateTime _vmStarted = DateTime.UtcNow.AddSeconds(-20);
    private OtlpReceiver _receiver = null!;
    private OtlpGrpcSink _spans = null!;
    private LogSinkSet _logs = null!;

    public async ValueTask InitializeAsync()
    {
        _receiver = await OtlpReceiver.StartAsync();
        _spans = new OtlpGrpcSink(new OtlpDestination("grpc", OtlpProtocol.Grpc, _receiver.GrpcEndpoint));
        _logs = new LogSinkSet([
            new OtlpGrpcLogSink(new OtlpDestination("grpc", OtlpProtocol.Grpc, _receiver.GrpcEndpoint)),
            new OtlpHttpLogSink(new OtlpDestination("http", OtlpProtocol.HttpProtobuf, _receiver.HttpEndpoint)),
        ]);
    }

    public async ValueTask DisposeAsync()
    {
        await _logs.DisposeAsync();
        await _spans.DisposeAsync();
        await _receiver.DisposeAsync();
        _channel.Dispose();
    }

    private GuestSpanRelay Relay(RelayBounds? bounds = null, bool withLogs = true) =>
        new(new Traces.TracesClient(_channel), Clock, _spans, bounds ?? RelayBounds.Default, _vmStarted,
            new Dictionary<string, string> { ["service.instance.id"] = VmId },
            GuestResource.WorkloadAttributes(VmId, RanOn), withLogs ? _logs : null);

    private static long NowNs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    private static ByteString Id(int bytes) => ByteString.CopyFrom(Random.Shared.GetItems(Enumerable.Range(1, 255).Select(i => (byte)i).ToArray(), bytes));

    /// <summary>A well-formed span on the guest's clock, ended a moment ago.</summary>
    private static Span GuestSpan(string name)
    {
        var start = NowNs() - 5_000_000 + OffsetNs;
        return new Span { TraceId = Id(16), SpanId = Id(8), Name = name, StartTimeUnixNano = (ulong)start, EndTimeUnixNano = (ulong)(start + 1_000_000) };
    }

    private static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static OtlpResource Resource(params (string Key, string Value)[] attributes)
    {
        var r = new OtlpResource();
        foreach (var (k, v) in attributes) r.Attributes.Add(Kv(k, v));
        return r;
    }

    private static WorkloadSpans Workload(string container, OtlpResource resource, params Span[] spans) => new()
    {
        ContainerId = container,
        ResourceSpans = new ResourceSpans { Resource = resource, ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "app" }, Spans = { spans } } } },
    };

    private static WorkloadLogs WorkloadLog(string container, OtlpResource resource, params LogRecord[] records) => new()
    {
        ContainerId = container,
        ResourceLogs = new ResourceLogs { Resource = resource, ScopeLogs = { new ScopeLogs { Scope = new InstrumentationScope { Name = "app" }, LogRecords = { records } } } },
    };

    private static string? Attr(OtlpResource r, string key) => r.Attributes.FirstOrDefault(a => a.Key == key)?.Value.StringValue;

    private static long IntAttr(IEnumerable<KeyValue> attributes, string key) => attributes.Single(a => a.Key == key).Value.IntValue;

    [Fact]
    public async Task Workload_spans_keep_their_own_resource_and_gain_the_container_and_the_VM()
    {
        await using var relay = Relay();
        var app = GuestSpan("app.Ready");
        var guestStart = app.StartTimeUnixNano;
        var batch = new SpanBatch
        {
            ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "Nerdbox.GuestAgent" }, Spans = { GuestSpan("crun.Start") } } },
            WorkloadSpans =
            {
                // The workload names itself and its instance, and tries to name its container and VM: the host's values win.
                Workload("c1", Resource(("service.name", "sample-app"), ("service.instance.id", "app-7"), ("container.id", "forged"), ("nerdbox.vm.id", "forged")), app),
                // No service.name of its own, and a key given twice (the first one stands).
                Workload("c2", Resource(("deployment.environment.name", "test"), ("deployment.environment.name", "again")), GuestSpan("anonymous.Work")),
            },
        };
        await relay.ForwardAsync(batch);
        await _spans.FlushAsync(TimeSpan.FromSeconds(60));
        var spans = await _receiver.WaitForSpansAsync(s => s.Count >= 3, TimeSpan.FromSeconds(60));

        var agent = spans.Single(s => s.Span.Name == "crun.Start");
        Assert.Equal("nerdbox-vm", agent.ServiceName);
        Assert.Null(Attr(agent.Resource, "container.id"));

        var c1 = spans.Single(s => s.Span.Name == "app.Ready");
        Assert.Equal("sample-app", c1.ServiceName);
        Assert.Equal("app-7", Attr(c1.Resource, "service.instance.id"));
        Assert.Equal("c1", Attr(c1.Resource, "container.id"));
        Assert.Equal(VmId, Attr(c1.Resource, GuestResource.VmIdKey));
        Assert.Equal("qemu", Attr(c1.Resource, "nerdbox.vm.backend"));
        Assert.Single(c1.Resource.Attributes, a => a.Key == "container.id");
        Assert.Single(c1.Resource.Attributes, a => a.Key == GuestResource.VmIdKey);
        // Clock-corrected as the agent's spans are, and saying so.
        Assert.Equal(guestStart - (ulong)OffsetNs, c1.Span.StartTimeUnixNano);
        Assert.Equal(OffsetNs, IntAttr(c1.Span.Attributes, "nerdbox.clock.offset_ns"));
        Assert.Equal(UncertaintyNs, IntAttr(c1.Span.Attributes, "nerdbox.clock.uncertainty_ns"));

        var c2 = spans.Single(s => s.Span.Name == "anonymous.Work");
        Assert.Equal("unknown_service", c2.ServiceName);
        Assert.Equal("test", Assert.Single(c2.Resource.Attributes, a => a.Key == "deployment.environment.name").Value.StringValue);
        Assert.Equal("c2", Attr(c2.Resource, "container.id"));

        Assert.Equal(3, relay.Stats.Forwarded);
        var byContainer = relay.Stats.Workloads.ToDictionary(w => w.ContainerId);
        Assert.Equal((1, 1, 0), (byContainer["c1"].SpansReceived, byContainer["c1"].SpansForwarded, byContainer["c1"].SpansDropped));
        Assert.Equal((1, 1, 0), (byContainer["c2"].SpansReceived, byContainer["c2"].SpansForwarded, byContainer["c2"].SpansDropped));
    }

    [Fact]
    public async Task Workload_logs_reach_the_receiver_over_grpc_and_http_corrected_and_under_their_resource()
    {
        await using var relay = Relay();
        var guestTime = (ulong)(NowNs() - 2_000_000 + OffsetNs);
        var record = new LogRecord
        {
            TimeUnixNano = guestTime,
            SeverityNumber = SeverityNumber.Info,
            SeverityText = "INFO",
            Body = new AnyValue { StringValue = "config loaded" },
            TraceId = Id(16),
            SpanId = Id(8),
        };
        await relay.ForwardAsync(new SpanBatch { WorkloadLogs = { WorkloadLog("c1", Resource(("service.name", "sample-app")), record) } });
        await _logs.FlushAsync(TimeSpan.FromSeconds(60));
        var logs = await _receiver.WaitForLogsAsync(l => l.Count >= 2, TimeSpan.FromSeconds(60));

        Assert.Equal(["grpc", "http"], logs.Select(l => l.Transport).Order());
        foreach (var log in logs)
        {
            Assert.Equal("sample-app", log.ServiceName);
            Assert.Equal("c1", Attr(log.Resource, "container.id"));
            Assert.Equal(VmId, Attr(log.Resource, GuestResource.VmIdKey));
            Assert.Equal("config loaded", log.Record.Body.StringValue);
            Assert.Equal(guestTime - (ulong)OffsetNs, log.Record.TimeUnixNano);
            Assert.Equal(0UL, log.Record.ObservedTimeUnixNano); // unset stays unset
            Assert.Equal(OffsetNs, IntAttr(log.Record.Attributes, "nerdbox.clock.offset_ns"));
        }
        var c1 = Assert.Single(relay.Stats.Workloads);
        Assert.Equal((1, 1, 0), (c1.LogsReceived, c1.LogsForwarded, c1.LogsDropped));
        Assert.Equal(2, _logs.Stats.RecordsSent);
    }

    [Fact]
    public async Task Workloads_are_bounded_and_counted_per_container_and_never_use_up_the_agents_allowance()
    {
        var bounds = RelayBounds.Default with { MaxWorkloadSpansPerVm = 3, MaxSpansPerVm = 10, MaxResourceAttributes = 4, MaxWorkloadContainers = 2 };
        await using var relay = Relay(bounds);
        var bad = GuestSpan("bad.Id");
        bad.SpanId = ByteString.CopyFrom(new byte[8]);
        var manyAttributes = Resource([.. Enumerable.Range(0, 10).Select(i => ($"k{i}", new string('x', 10_000))), ("service.name", "flood")]);
        var batch = new SpanBatch
        {
            WorkloadSpans =
            {
                Workload("flood", manyAttributes, bad, GuestSpan("f1"), GuestSpan("f2"), GuestSpan("f3"), GuestSpan("f4")),
                Workload("quiet", Resource(("service.name", "quiet")), GuestSpan("q1")),
                Workload("third", Resource(), GuestSpan("t1")),   // over the container bound
                Workload("", Resource(), GuestSpan("nameless")), // no container id
            },
            Stats = new BufferStats
            {
                Workloads = { new WorkloadStats { ContainerId = "flood", SpansReceived = 900, SpansDropped = 890, RequestsRejected = 2, ItemsRejected = 1 } },
            },
        };
        await relay.ForwardAsync(batch);
        // The agent's own spans still pass: the workloads' limit is their own.
        await relay.ForwardAsync(new SpanBatch { ScopeSpans = { new ScopeSpans { Spans = { GuestSpan("agent.Work") } } } });
        await _spans.FlushAsync(TimeSpan.FromSeconds(60));
        var spans = await _receiver.WaitForSpansAsync(s => s.Count >= 3, TimeSpan.FromSeconds(60));

        // The bad span (counted, then dropped), f1 and f2 fill the workload limit of 3; f3, f4 and q1 are over it.
        var names = spans.Select(s => s.Span.Name).Order().ToArray();
        Assert.Equal(["agent.Work", "f1", "f2"], names);
        var flood = relay.Stats.Workloads.Single(w => w.ContainerId == "flood");
        Assert.Equal((5, 2, 3), (flood.SpansReceived, flood.SpansForwarded, flood.SpansDropped));
        Assert.Equal(890UL, flood.Guest.SpansDropped);
        Assert.Equal(2UL, flood.Guest.RequestsRejected);
        Assert.True(flood.Lost);
        Assert.Contains("dropped in guest 890 spans", flood.ToString());
        Assert.Contains("rejected 2 requests, 1 items", flood.ToString());
        var quiet = relay.Stats.Workloads.Single(w => w.ContainerId == "quiet");
        Assert.Equal((1, 0, 1), (quiet.SpansReceived, quiet.SpansForwarded, quiet.SpansDropped));
        Assert.Equal(2, relay.Stats.Workloads.Count);
        var reasons = relay.Stats.DroppedByReason;
        Assert.Equal(1, reasons["bad span id"]);
        Assert.Equal(3, reasons["over the per-VM workload limit"]);
        Assert.Equal(1, reasons["too many containers"]);
        Assert.Equal(1, reasons["bad container id"]);

        // The workload's resource is bounded like a span's attributes; the host's keys come on top.
        var resource = spans.First(s => s.Span.Name == "f1").Resource;
        var own = resource.Attributes.Where(a => a.Key.StartsWith('k')).ToList();
        Assert.True(own.Count <= 4, $"{own.Count} workload attributes");
        Assert.All(own, a => Assert.True(a.Value.StringValue.Length <= bounds.MaxAttributeValueLength));
        Assert.Equal("flood", Attr(resource, "container.id"));
    }

    [Fact]
    public async Task Without_a_log_destination_workload_logs_are_counted_dropped()
    {
        await using var relay = Relay(withLogs: false);
        var record = new LogRecord { TimeUnixNano = (ulong)(NowNs() + OffsetNs), Body = new AnyValue { StringValue = "lost" } };
        await relay.ForwardAsync(new SpanBatch { WorkloadLogs = { WorkloadLog("c1", Resource(), record) } });
        var c1 = Assert.Single(relay.Stats.Workloads);
        Assert.Equal((1, 0, 1), (c1.LogsReceived, c1.LogsForwarded, c1.LogsDropped));
        Assert.Equal(1, relay.Stats.LogsDroppedByReason["no log destination"]);
        Assert.Contains("dropped by host 0 spans, 1 logs", c1.ToString());
    }

    [Fact]
    public async Task The_first_workload_span_of_the_awaited_name_marks_app_ready_once_on_the_hosts_clock()
    {
        await using var relay = Relay();
        var ready = new List<DateTime>();
        relay.OnFirstWorkloadSpan("app.Ready", ready.Add);
        var first = GuestSpan("app.Ready");
        // The agent's own span of that name does not count: only the workload's do.
        await relay.ForwardAsync(new SpanBatch { ScopeSpans = { new ScopeSpans { Spans = { GuestSpan("app.Ready") } } } });
        Assert.Empty(ready);
        var guestEnd = first.EndTimeUnixNano;
        await relay.ForwardAsync(new SpanBatch { WorkloadSpans = { Workload("c1", Resource(), GuestSpan("app.LoadConfig"), first) } });
        await relay.ForwardAsync(new SpanBatch { WorkloadSpans = { Workload("c1", Resource(), GuestSpan("app.Ready")) } });

        var at = Assert.Single(ready);
        Assert.Equal(DateTime.UnixEpoch.AddTicks((long)((guestEnd - (ulong)OffsetNs) / 100)), at);
    }

    [Theory]
    [InlineData("http://collector:4318/v1/traces", "http://collector:4318/v1/logs")]
    [InlineData("https://otel.example.com/otlp/v1/traces", "https://otel.example.com/otlp/v1/logs")]
    [InlineData("http://collector:4318/custom/path", null)]
    public void An_http_destinations_logs_go_beside_its_traces(string traces, string? logs)
    {
        var destination = new OtlpDestination("d", OtlpProtocol.HttpProtobuf, new Uri(traces));
        Assert.Equal(logs, OtlpHttpLogSink.LogsUrl(destination)?.ToString());
        var (sink, skipped) = LogSinks.Create(destination);
        Assert.Equal(logs is null, sink is null);
        if (logs is null) Assert.Contains("does not end with /v1/traces", skipped);
        (sink as IDisposable)?.Dispose();
    }
}
