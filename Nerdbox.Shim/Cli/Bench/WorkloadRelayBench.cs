using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Headers;
using Google.Protobuf;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Relay;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Testing;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench workload</c>: what a workload span costs against one of the agent's own, <c>bench relay</c>-style.
/// The guest agent runs as a host process; two kinds of run, alternated (A B, B A, ...): the agent generates N
/// spans of its own (<c>--generate-spans</c>), or a client posts N workload spans over OTLP/HTTP protobuf to a
/// pseudo-container's workload endpoint (<c>--workload-endpoint</c>, loopback). Either way the shim's
/// <see cref="GuestSpanRelay"/> reads the trace stream and forwards through a real <see cref="OtlpGrpcSink"/> to a
/// counting OTLP receiver, at default bounds. Prints spans/s and µs per span of each, their ratio, and the drops per stage.
/// </summary>
public static class WorkloadRelayBench
{
    private const string Container = "bench-app";

    private sealed record Request(int Spans, int SpansPerRequest, bool Unpaced, string? AgentDll, int Rounds);

    private enum Kind { AgentSpans, WorkloadSpans }

    /// <summary>One run: spans/s stream open (or first post) to receiver, and where spans went.</summary>
    private sealed record Run(double SpansPerSecond, long AtReceiver, long RefusedAtEndpoint, long DroppedInGuest, long DroppedByHost, long SinkDropped, string Detail);

    public static Command Create()
    {
        var spans = CliOptions.PositiveInt("--spans", "N", "spans per run, of either kind", 100_000);
        var perRequest = CliOptions.PositiveInt("--request-spans", "N", "workload spans per OTLP/HTTP request", 512);
        var unpaced = new Option<bool>("--unpaced")
        {
            Description = "neither the generator nor the workload client waits for the guest buffer (it overflows on purpose)",
        };
        var agent = new Option<string>("--agent") { Description = "the agent to run as a host process (default: the one built beside the shim)", HelpName = "DLL" };
        var rounds = CliOptions.PositiveInt("--rounds", "N", "rounds of one agent-span run and one workload-span run each, alternating which goes first", 2);
        var command = new Command("workload",
            "The added cost per workload span: N spans posted over OTLP/HTTP protobuf to a host-process agent's workload endpoint, " +
            "through the relay and an OTLP/gRPC sink to a local receiver, against N of the agent's own spans in the same run: " +
            "spans/s, µs per span, the ratio, and drop counts per stage.")
        {
            spans, perRequest, unpaced, agent, rounds,
        };
        command.SetAction((r, ct) => RunAsync(new Request(r.GetValue(spans), r.GetValue(perRequest), r.GetValue(unpaced), r.GetValue(agent), r.GetValue(rounds)), ct));
        return command;
    }

    private static async Task<int> RunAsync(Request request, CancellationToken ct)
    {
        var dll = request.AgentDll ?? HostAgent.AgentDll();
        Console.WriteLine(BenchCommand.NoisyNote);
        Console.WriteLine($"bench workload: {request.Spans} spans per run, {request.Rounds} round(s) of agent spans and workload spans " +
            $"({request.SpansPerRequest} per OTLP/HTTP protobuf request), {(request.Unpaced ? "unpaced (overflows the buffer on purpose)" : "paced to the guest buffer")}, default bounds");
        var runs = new Dictionary<Kind, List<Run>> { [Kind.AgentSpans] = [], [Kind.WorkloadSpans] = [] };
        foreach (var (round, kind) in BenchRuns.Alternating(Kind.AgentSpans, Kind.WorkloadSpans, request.Rounds))
        {
            var run = await RunOnceAsync(kind, dll, request, ct);
            runs[kind].Add(run);
            Console.WriteLine($"round {round + 1} {(kind == Kind.AgentSpans ? "agent spans:   " : "workload spans:")} {run.SpansPerSecond,9:0} spans/s  {1e6 / run.SpansPerSecond,7:0.00} µs/span");
            Console.WriteLine(run.Detail);
        }
        var agent = BenchRuns.Median(runs[Kind.AgentSpans].Select(r => r.SpansPerSecond));
        var workload = BenchRuns.Median(runs[Kind.WorkloadSpans].Select(r => r.SpansPerSecond));
        Console.WriteLine($"agent's own spans (generated in the agent -> receiver):         median {agent,9:0} spans/s  {1e6 / agent,7:0.00} µs/span");
        Console.WriteLine($"workload spans (OTLP/HTTP post -> endpoint -> relay -> receiver): median {workload,9:0} spans/s  {1e6 / workload,7:0.00} µs/span");
        Console.WriteLine($"ratio workload / agent spans/s: {workload / agent:0.00}; added cost per workload span: {1e6 / workload - 1e6 / agent:+0.00;-0.00} µs");
        foreach (var (kind, list) in runs)
            Console.WriteLine($"dropped per stage, {kind}, over {list.Count} run(s) of {request.Spans}: refused at the endpoint {list.Sum(r => r.RefusedAtEndpoint)}, " +
                $"guest buffer {list.Sum(r => r.DroppedInGuest)}, relay bounds {list.Sum(r => r.DroppedByHost)}, sink {list.Sum(r => r.SinkDropped)}");
        var lost = runs.Values.SelectMany(l => l).Sum(r => request.Spans - r.AtReceiver);
        Console.WriteLine(lost <= 0 ? "result: no span lost" : $"result: {lost} of {2 * request.Rounds * (long)request.Spans} spans did not reach the receiver (see the drop counts above)");
        return 0;
    }

    private static async Task<Run> RunOnceAsync(Kind kind, string dll, Request request, CancellationToken ct)
    {
        string[] args = kind == Kind.AgentSpans
            ? ["--generate-spans", request.Spans.ToString(), .. (request.Unpaced ? new[] { "--generate-unpaced" } : [])]
            : ["--workload-endpoint", Container + "=0"];
        await using var pipeline = await RelayPipeline.StartAsync(dll, args, "bench-workload", workloads: true);
        var (agent, receiver, sinks, relay) = (pipeline.Agent, pipeline.Receiver, pipeline.Sinks, pipeline.Relay);
        var deadline = DateTime.UtcNow.AddMinutes(5);
        var sw = Stopwatch.StartNew();
        relay.Start();
        long refused = 0;
        if (kind == Kind.AgentSpans)
        {
            // Every span is either received by the relay or counted dropped by the guest's buffer.
            while (relay.Stats.Received + relay.Stats.GuestDroppedSpans < request.Spans && DateTime.UtcNow < deadline && !agent.HasExited)
                await Task.Delay(1, ct);
        }
        else
        {
            refused = await PostAsync(agent.WorkloadEndpoint(Container).Http, relay, request, deadline, ct);
            // Every span posted is received by the relay, or was counted dropped or refused in the guest.
            while (Workload(relay) is var w && w.SpansReceived + (long)w.Guest.SpansDropped + (long)w.Guest.ItemsRejected < request.Spans - refused
                   && DateTime.UtcNow < deadline && !agent.HasExited)
                await Task.Delay(1, ct);
        }
        await sinks.FlushAsync(TimeSpan.FromSeconds(60));
        await receiver.WaitForSpanCountAsync(relay.Stats.Forwarded - sinks.Stats.SpansDropped, TimeSpan.FromSeconds(30));
        var total = sw.Elapsed;
        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest(), cancellationToken: ct);
        var sink = sinks.Stats;
        var (atReceiver, droppedInGuest, droppedByHost) = kind == Kind.AgentSpans
            ? (receiver.SpanCount, (long)drain.Stats.SpansDropped, relay.Stats.DroppedByHost)
            // The agent's own few spans (its Info call's) share the receiver: count the container's.
            : (Workload(relay).SpansForwarded - Math.Max(0, sink.SpansDropped), (long)Workload(relay).Guest.SpansDropped, Workload(relay).SpansDropped);
        var detail =
            $"  guest:    agent spans recorded {drain.SpansRecorded}, dropped {drain.Stats.SpansDropped}; workload items taken {drain.WorkloadItemsTaken}" +
            (kind == Kind.WorkloadSpans && Workload(relay).Guest is var g
                ? $"; endpoint received {g.SpansReceived}, dropped {g.SpansDropped}, rejected {g.RequestsRejected} requests and {g.ItemsRejected} spans" : "") + "\n" +
            $"  relay:    {relay.Stats}" + (kind == Kind.WorkloadSpans ? $"\n            {Workload(relay)}" : "") + "\n" +
            $"  sink:     sent {sink.SpansSent}, dropped {sink.SpansDropped}, waited for room {sink.RoomWaits} times ({sink.RoomWaitsRanOut} ran out)" +
            (sink.LastError is { } e ? $", last error {e}" : "") + "\n" +
            $"  receiver: {receiver.SpanCount} spans in {receiver.RequestCount} export requests, {total.TotalMilliseconds:0} ms";
        return new Run(atReceiver / total.TotalSeconds, atReceiver, refused, droppedInGuest, droppedByHost, sink.SpansDropped, detail);
    }

    private static WorkloadRelayStats Workload(GuestSpanRelay relay) =>
        relay.Stats.Workloads.FirstOrDefault(w => w.ContainerId == Container) ?? new WorkloadRelayStats(Container);

    /// <summary>
    /// Posts the spans in requests of the configured size; unless unpaced, keeps at most a quarter of the
    /// container's default bound (2048 spans) posted but not yet read by the relay, as the agent's generator
    /// keeps to its buffer. Returns the spans the endpoint refused (partial success, or a failed request).
    /// </summary>
    private static async Task<long> PostAsync(Uri endpoint, GuestSpanRelay relay, Request request, DateTime deadline, CancellationToken ct)
    {
        const int Window = 512;
        using var http = new HttpClient();
        var url = new Uri(endpoint, "/v1/traces");
        var trace = new byte[16];
        long posted = 0, refused = 0;
        while (posted < request.Spans && DateTime.UtcNow < deadline)
        {
            var n = (int)Math.Min(request.SpansPerRequest, request.Spans - posted);
            while (!request.Unpaced && posted - Workload(relay).SpansReceived - (long)Workload(relay).Guest.SpansDropped > Window && DateTime.UtcNow < deadline)
                await Task.Delay(1, ct);
            Random.Shared.NextBytes(trace);
            trace[0] |= 1;
            using var content = new ByteArrayContent(Body(n, trace).ToByteArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            using var response = await http.PostAsync(url, content, ct);
            posted += n;
            if (!response.IsSuccessStatusCode) { refused += n; continue; }
            var answer = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync(ct));
            refused += answer.PartialSuccess?.RejectedSpans ?? 0;
        }
        return refused;
    }

    private static ExportTraceServiceRequest Body(int spans, byte[] trace)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "bench.workload" } };
        var now = (ulong)((DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100);
        var id = new byte[8];
        for (var i = 0; i < spans; i++)
        {
            Random.Shared.NextBytes(id);
            id[0] |= 1;
            scope.Spans.Add(new Span
            {
                TraceId = ByteString.CopyFrom(trace),
                SpanId = ByteString.CopyFrom(id),
                Name = "app.Work",
                Kind = Span.Types.SpanKind.Internal,
                StartTimeUnixNano = now - 1_000_000,
                EndTimeUnixNano = now,
                Attributes = { new KeyValue { Key = "app.item", Value = new AnyValue { IntValue = i } } },
            });
        }
        return new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new OtlpResource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "bench-app" } } } },
                    ScopeSpans = { scope },
                },
            },
        };
    }
}
