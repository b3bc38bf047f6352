using System.CommandLine;
using System.Diagnostics;
using Grpc.Core;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Engine.Relay;
using Nerdbox.Testing;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench relay</c>: the guest agent as a host process makes N spans (its benchmark generator,
/// <c>--generate-spans</c>) once the trace stream opens. Two kinds of run, alternated (A B B A ...):
/// the raw ceiling reads the agent's Traces stream over the same channel and discards it (no relay,
/// no sink); end to end, the shim's <see cref="GuestSpanRelay"/> reads it and forwards it through a real
/// <see cref="OtlpGrpcSink"/> to a counting OTLP receiver. Every bound is the default one. Prints
/// spans/s of each, end to end as a ratio of the ceiling, and the drops at each stage.
/// </summary>
public static class RelayBench
{
    private sealed record Request(int Spans, bool Unpaced, string? AgentDll, int? SinkQueue, int Rounds);

    private enum Kind { Ceiling, EndToEnd }

    /// <summary>One end-to-end run: its rate, the relay's rate alone, and where spans went.</summary>
    private sealed record EndToEnd(double SpansPerSecond, double RelaySpansPerSecond, long Received, long GuestDropped,
        long RelayDropped, SinkStats Sink, long RateWaits, string Detail);

    public static Command Create()
    {
        var spans = CliOptions.PositiveInt("--spans", "N", "spans the agent makes per run", 500_000);
        var unpaced = new Option<bool>("--unpaced") { Description = "do not pace the generator to the guest buffer (it overflows on purpose)" };
        var agent = new Option<string>("--agent") { Description = "the agent to run as a host process (default: the one built beside the shim)", HelpName = "DLL" };
        // Unset unless asked for: it is there to see what the sink's queue bound costs at this rate.
        var sinkQueue = CliOptions.OptionalPositiveInt("--sink-queue", "N", $"override the sink's queue bound of {SinkOptions.Default.MaxQueuedSpans} spans, to compare");
        var rounds = CliOptions.PositiveInt("--rounds", "N", "rounds of one ceiling run and one end-to-end run each, alternating which goes first", 2);
        var command = new Command("relay",
            "Spans from a host-process agent through the relay and an OTLP/gRPC sink to a local receiver, at default bounds, " +
            "against the raw stream with no relay and no sink: spans/s, the ratio, and drop counts per stage.")
        {
            spans, unpaced, agent, sinkQueue, rounds,
        };
        command.SetAction((r, ct) => RunAsync(new Request(r.GetValue(spans), r.GetValue(unpaced), r.GetValue(agent), r.GetValue(sinkQueue), r.GetValue(rounds)), ct));
        return command;
    }

    private static async Task<int> RunAsync(Request request, CancellationToken ct)
    {
        var sinkOptions = request.SinkQueue is { } q ? SinkOptions.Default with { MaxQueuedSpans = q } : SinkOptions.Default;
        var dll = request.AgentDll ?? HostAgent.AgentDll();
        Console.WriteLine(BenchCommand.NoisyNote);
        Console.WriteLine($"bench relay: {request.Spans} spans per run, {request.Rounds} round(s) of ceiling and end to end, " +
            $"generator {(request.Unpaced ? "unpaced (overflows the buffer on purpose)" : "paced to the guest buffer")}");
        Console.WriteLine($"  guest buffer {SpanBufferDefaults}, relay {RelayBounds.Default.MaxSpansPerSecond:0} spans/s (paced, not dropped) and {RelayBounds.Default.MaxSpansPerVm} per VM, " +
            $"sink queue {sinkOptions.MaxQueuedSpans} spans / {sinkOptions.MaxQueuedBatches} batches{(sinkOptions == SinkOptions.Default ? "" : " (NOT the default)")}");
        string[] agentArgs = ["--generate-spans", request.Spans.ToString(), .. (request.Unpaced ? new[] { "--generate-unpaced" } : [])];

        var ceilings = new List<double>();
        var runs = new List<EndToEnd>();
        foreach (var (round, kind) in BenchRuns.Alternating(Kind.Ceiling, Kind.EndToEnd, request.Rounds))
        {
            if (kind == Kind.Ceiling)
            {
                var (rate, received, guestDropped) = await CeilingAsync(dll, agentArgs, request.Spans, ct);
                ceilings.Add(rate);
                Console.WriteLine($"round {round + 1} ceiling:     {rate,8:0} spans/s  (read {received}, guest buffer dropped {guestDropped})");
            }
            else
            {
                var run = await EndToEndAsync(dll, agentArgs, request.Spans, sinkOptions, ct);
                runs.Add(run);
                Console.WriteLine($"round {round + 1} end to end:  {run.SpansPerSecond,8:0} spans/s  (guest -> relay alone {run.RelaySpansPerSecond:0} spans/s)");
                Console.WriteLine(run.Detail);
            }
        }

        var ceiling = BenchRuns.Median(ceilings);
        var endToEnd = BenchRuns.Median(runs.Select(r => r.SpansPerSecond));
        Console.WriteLine($"raw ceiling (agent stream read and discarded, no relay, no sink): median {ceiling:0} spans/s");
        Console.WriteLine($"end to end (stream open -> OTLP receiver has them):              median {endToEnd:0} spans/s");
        Console.WriteLine($"ratio end to end / ceiling: {endToEnd / ceiling:0.00}");
        Console.WriteLine($"dropped per stage, over {runs.Count} end-to-end run(s) of {request.Spans} spans: " +
            $"guest buffer {runs.Sum(r => r.GuestDropped)}, relay bounds {runs.Sum(r => r.RelayDropped)}, sink {runs.Sum(r => r.Sink.SpansDropped)}");
        var lost = runs.Sum(r => request.Spans - r.Received);
        Console.WriteLine(lost == 0 ? "result: no span lost" : $"result: {lost} of {runs.Count * (long)request.Spans} spans did not reach the receiver (see the drop counts above)");
        return 0;
    }

    /// <summary>The same spans over the same kind of channel, read and thrown away: what the stream itself can carry.</summary>
    private static async Task<(double Rate, long Received, long GuestDropped)> CeilingAsync(string dll, string[] agentArgs, int spans, CancellationToken ct)
    {
        await using var agent = await HostAgent.StartAsync(dll, agentArgs, TimeSpan.FromSeconds(30));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(TimeSpan.FromMinutes(5));
        var sw = Stopwatch.StartNew();
        using var call = agent.Client.Traces.Stream(new StreamRequest { MaxBatchSpans = GuestSpanRelay.BatchSpans }, cancellationToken: stop.Token);
        long received = 0, guestDropped = 0;
        try
        {
            while (received + guestDropped < spans && await call.ResponseStream.MoveNext(stop.Token))
            {
                var batch = call.ResponseStream.Current;
                foreach (var scope in batch.ScopeSpans) received += scope.Spans.Count;
                guestDropped = (long)(batch.Stats?.SpansDropped ?? 0);
            }
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            Console.WriteLine($"  ceiling run stopped early: {e.Message}");
        }
        return (received / sw.Elapsed.TotalSeconds, received, guestDropped);
    }

    private static async Task<EndToEnd> EndToEndAsync(string dll, string[] agentArgs, int spans, SinkOptions sinkOptions, CancellationToken ct)
    {
        await using var pipeline = await RelayPipeline.StartAsync(dll, agentArgs, "bench-relay", sinkOptions: sinkOptions);
        var (agent, receiver, sinks, relay) = (pipeline.Agent, pipeline.Receiver, pipeline.Sinks, pipeline.Relay);
        var client = agent.Client;

        var sw = Stopwatch.StartNew();
        relay.Start();
        var deadline = DateTime.UtcNow.AddMinutes(5);
        // Every span is either received by the relay or counted dropped by the guest's buffer.
        while (relay.Stats.Received + relay.Stats.GuestDroppedSpans < spans && DateTime.UtcNow < deadline && !agent.HasExited)
            await Task.Delay(1, ct);
        var relayed = sw.Elapsed;
        await sinks.FlushAsync(TimeSpan.FromSeconds(60));
        var expected = relay.Stats.Forwarded - sinks.Stats.SpansDropped;
        await receiver.WaitForSpanCountAsync(expected, TimeSpan.FromSeconds(30));
        var total = sw.Elapsed;
        var drain = await client.Traces.DrainAsync(new DrainRequest(), cancellationToken: ct);
        var sink = sinks.Stats;
        var detail =
            $"  guest:    recorded {drain.SpansRecorded}, sent {drain.Stats.SpansSent}, dropped {drain.Stats.SpansDropped} ({drain.Stats.BytesDropped} bytes)\n" +
            $"  relay:    {relay.Stats}\n" +
            $"  sink:     sent {sink.SpansSent}, dropped {sink.SpansDropped}, waited for room {sink.RoomWaits} times ({sink.RoomWaitsRanOut} ran out)" +
            (sink.LastError is { } e ? $", last error {e}" : "") + "\n" +
            $"  receiver: {receiver.SpanCount} spans in {receiver.RequestCount} export requests, {total.TotalMilliseconds:0} ms";
        return new EndToEnd(receiver.SpanCount / total.TotalSeconds, relay.Stats.Received / relayed.TotalSeconds, receiver.SpanCount,
            (long)drain.Stats.SpansDropped, relay.Stats.DroppedByHost, sink, relay.Stats.RateWaits, detail);
    }

    private static string SpanBufferDefaults => "16384 spans / 8 MiB (agent defaults)";
}
