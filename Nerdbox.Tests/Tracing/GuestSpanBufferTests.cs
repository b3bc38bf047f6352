using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Nerdbox.Api.System.V1;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Telemetry;
using Nerdbox.Tests.Infrastructure;
using OpenTelemetry.Proto.Trace.V1;
using ResourceSpans = OpenTelemetry.Proto.Trace.V1.ResourceSpans;
using Nerdbox.Tests.Fixture;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// The guest's span buffer, with the agent run as a real host process on a unix socket and the
/// shim's <c>AgentClient</c> and <see cref="GuestSpanRelay"/> reading it into an in-memory sink:
/// spans made before the host subscribes wait for it (ids intact), a full buffer drops the excess
/// without holding up the calls and counts exactly what it dropped, and the host learns the count.
/// </summary>
public sealed class GuestSpanBufferTests : IDisposable
{
    private const string InfoSpan = "nerdbox.services.system.v1.System/Info";

    // The shim's client spans, by trace id: each traced call below runs in its own trace, and the
    // guest's server span must name the client span of that call as its parent.
    private readonly ConcurrentDictionary<ActivityTraceId, ActivitySpanId> _clientSpans = new();
    private readonly ActivityListener _listener;

    public GuestSpanBufferTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ShimTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = a =>
            {
                if (a.Kind == ActivityKind.Client && a.DisplayName == InfoSpan) _clientSpans.TryAdd(a.TraceId, a.SpanId);
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>One traced System.Info call in a new trace of its own; returns the trace id and the call's duration.</summary>
    private static async Task<(ActivityTraceId Trace, TimeSpan Took)> TracedInfoAsync(HostAgent agent)
    {
        var root = new Activity("test.Call");
        root.SetIdFormat(ActivityIdFormat.W3C);
        root.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        root.Start();
        try
        {
            var sw = Stopwatch.StartNew();
            await agent.Client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
            return (root.TraceId, sw.Elapsed);
        }
        finally
        {
            root.Stop();
            Activity.Current = null;
        }
    }

    private static GuestSpanRelay Relay(HostAgent agent, ISpanSink sink) =>
        new(agent.Client.Traces, new ClockEstimate(0, 0, DateTime.UtcNow, 0, 1), sink, RelayBounds.Default,
            DateTime.UtcNow.AddMinutes(-1), new Dictionary<string, string> { ["service.instance.id"] = "host-agent" });

    private static List<(string Service, Span Span)> Spans(InMemorySpanSink sink) =>
        sink.Snapshot().SelectMany(rs => rs.ScopeSpans.SelectMany(ss => ss.Spans.Select(s =>
            (rs.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue, s)))).ToList();

    private static ActivityTraceId TraceIdOf(Span s) => ActivityTraceId.CreateFromBytes(s.TraceId.Span);
    private static ActivitySpanId SpanIdOf(Google.Protobuf.ByteString b) => ActivitySpanId.CreateFromBytes(b.Span);

    [Fact]
    public async Task Spans_made_before_the_host_subscribes_all_arrive_with_their_ids()
    {
        await using var agent = await HostAgent.StartAsync();
        const int calls = 30;
        var traces = new List<ActivityTraceId>();
        for (var i = 0; i < calls; i++) traces.Add((await TracedInfoAsync(agent)).Trace);

        var sink = new InMemorySpanSink();
        await using var relay = Relay(agent, sink);
        relay.Start();
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(15)), $"not drained: {relay.Stats}\n{agent.Log}");

        var spans = Spans(sink);
        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest());
        Assert.True(calls == spans.Count, $"{spans.Count} spans arrived; relay: {relay.Stats}; the guest says {drain}; client spans seen {_clientSpans.Count(kv => traces.Contains(kv.Key))}");
        Assert.Equal(calls, relay.Stats.Forwarded);
        Assert.Equal(0, relay.Stats.DroppedByHost);
        Assert.Equal(0, relay.Stats.GuestDroppedSpans);
        Assert.All(spans, s => Assert.Equal(ShimTracing.GuestServiceName, s.Service));
        Assert.Equal(calls, spans.Select(s => SpanIdOf(s.Span.SpanId)).Distinct().Count());
        foreach (var trace in traces)
        {
            var span = Assert.Single(spans, s => TraceIdOf(s.Span) == trace).Span;
            Assert.Equal(InfoSpan, span.Name);
            Assert.Equal(Span.Types.SpanKind.Server, span.Kind);
            Assert.NotEqual(default, SpanIdOf(span.SpanId));
            Assert.Equal(_clientSpans[trace], SpanIdOf(span.ParentSpanId));
            Assert.True(span.EndTimeUnixNano >= span.StartTimeUnixNano);
        }

        // Spans made while subscribed arrive too, and draining waits for them.
        var late = (await TracedInfoAsync(agent)).Trace;
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(15)), relay.Stats.ToString());
        Assert.Single(Spans(sink), s => TraceIdOf(s.Span) == late);
        Assert.Equal(calls + 1, relay.Stats.Received);
    }

    [Fact]
    public async Task A_full_buffer_drops_the_excess_counts_it_exactly_and_does_not_hold_up_calls()
    {
        const int capacity = 10, calls = 40;
        await using var agent = await HostAgent.StartAsync("--span-buffer-spans", capacity.ToString());
        var made = new List<(ActivityTraceId Trace, TimeSpan Took)>();
        for (var i = 0; i < calls; i++) made.Add(await TracedInfoAsync(agent));

        // Nobody reads the buffer yet: a blocking buffer would have hung the 11th call (each has a 5 s deadline).
        var before = made.Take(capacity).Select(m => m.Took.TotalMilliseconds).Order().ToArray();
        var after = made.Skip(capacity).Select(m => m.Took.TotalMilliseconds).Order().ToArray();
        var medianBefore = before[before.Length / 2];
        var medianAfter = after[after.Length / 2];
        Assert.True(medianAfter <= 4 * medianBefore + 20, $"calls slowed once the buffer was full: median {medianBefore:0.0} ms, then {medianAfter:0.0} ms");

        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest());
        Assert.Equal((ulong)calls, drain.SpansRecorded);
        Assert.Equal((ulong)(calls - capacity), drain.Stats.SpansDropped);
        Assert.Equal((uint)capacity, drain.Stats.BufferCapacitySpans);
        Assert.True(drain.Stats.BytesDropped > 0);

        var sink = new InMemorySpanSink();
        await using var relay = Relay(agent, sink);
        relay.Start();
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(15)), $"not drained: {relay.Stats}\n{agent.Log}");
        var spans = Spans(sink);
        Assert.Equal(capacity, spans.Count);
        // The buffer keeps what it has and drops the newcomers.
        Assert.Equal(made.Take(capacity).Select(m => m.Trace.ToHexString()).Order(), spans.Select(s => TraceIdOf(s.Span).ToHexString()).Order());
        Assert.Equal(calls - capacity, relay.Stats.GuestDroppedSpans);
        Assert.Equal(0, relay.Stats.DroppedByHost);

        // Once read, the buffer has room again, and the drop count stays where it was.
        var next = (await TracedInfoAsync(agent)).Trace;
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(15)), relay.Stats.ToString());
        Assert.Single(Spans(sink), s => TraceIdOf(s.Span) == next);
        Assert.Equal(calls - capacity, relay.Stats.GuestDroppedSpans);
    }

    [Fact]
    public async Task The_byte_bound_drops_and_counts_too()
    {
        // Room for a few server spans (a few hundred bytes each) however many spans are allowed.
        await using var agent = await HostAgent.StartAsync("--span-buffer-bytes", "1500");
        const int calls = 20;
        for (var i = 0; i < calls; i++) await TracedInfoAsync(agent);
        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest());
        Assert.Equal((ulong)calls, drain.SpansRecorded);
        Assert.Equal(1500UL, drain.Stats.BufferCapacityBytes);
        Assert.InRange(drain.Stats.SpansDropped, 1UL, calls - 1UL);

        var sink = new InMemorySpanSink();
        await using var relay = Relay(agent, sink);
        relay.Start();
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(15)), relay.Stats.ToString());
        Assert.Equal(calls - (long)drain.Stats.SpansDropped, Spans(sink).Count);
        Assert.Equal((long)drain.Stats.SpansDropped, relay.Stats.GuestDroppedSpans);
    }

    /// <summary>Takes its time over every batch, as a sink under load may.</summary>
    private sealed class SlowSink(InMemorySpanSink inner) : ISpanSink
    {
        public string Name => "slow";
        public SinkStats Stats => inner.Stats;
        public Task FlushAsync(TimeSpan timeout) => Task.CompletedTask;
        public void Submit(ResourceSpans batch)
        {
            Thread.Sleep(300);
            inner.Submit(batch);
        }
    }

    [Fact]
    public async Task Draining_waits_until_the_spans_are_in_the_sinks_not_just_received()
    {
        await using var agent = await HostAgent.StartAsync();
        var trace = (await TracedInfoAsync(agent)).Trace;
        var sink = new InMemorySpanSink();
        await using var relay = Relay(agent, new SlowSink(sink));
        relay.Start();
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(15)), relay.Stats.ToString());
        Assert.Single(Spans(sink), s => TraceIdOf(s.Span) == trace);
    }

    [Fact]
    public async Task Draining_with_no_spans_at_all_is_immediately_complete()
    {
        await using var agent = await HostAgent.StartAsync();
        var sink = new InMemorySpanSink();
        await using var relay = Relay(agent, sink);
        relay.Start();
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(0, relay.Stats.Received);
        Assert.Empty(Spans(sink));
    }
}

/// <summary>In a VM the agent takes its buffer's bounds from the kernel command line the shim writes.</summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class GuestSpanBufferVmTests(Fixture.GuestImageFixture fixture)
{
    [Fact]
    public async Task The_kernel_command_line_sets_the_guest_buffer_bounds()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("spans", "echo", "hi");
        var options = await scratch.OptionsAsync(fixture) with { GuestSpanBufferSpans = 5, GuestSpanBufferBytes = 123_456 };
        Assert.Contains("nerdbox.spans.max=5", options.GuestKernelArgs);
        // The guest records what the host samples: the shim's calls must be traced for guest spans to exist.
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ShimTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);

        await using var task = await Nerdbox.Engine.Tasks.VmTask.CreateAsync("spans", bundle, options);
        await task.StartAsync();
        await task.WaitAsync();
        // No relay reads the buffer: it holds its five spans and counts every later one as dropped.
        var drain = await task.Agent!.Traces.DrainAsync(new DrainRequest());
        Assert.Equal(5u, drain.Stats.BufferCapacitySpans);
        Assert.Equal(123_456UL, drain.Stats.BufferCapacityBytes);
        Assert.True(drain.SpansRecorded > 5, $"{drain.SpansRecorded} spans recorded");
        Assert.Equal(drain.SpansRecorded - 5, drain.Stats.SpansDropped);
        await task.DeleteAsync();
    }
}
