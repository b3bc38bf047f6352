using System.CommandLine;
using System.Diagnostics;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Engine.Relay;
using Nerdbox.Testing;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench relay</c>: the guest agent as a host process makes N spans (its benchmark generator,
/// <c>--generate-spans</c>) once the trace stream opens; the shim's <see cref="GuestSpanRelay"/> reads
/// them and forwards them through a real <see cref="OtlpGrpcSink"/> to a counting OTLP receiver.
/// Every bound is the default one. Prints spans/s from stream open until the receiver has them all.
/// </summary>
public static class RelayBench
{
    private sealed record Request(int Spans, bool Unpaced, string? AgentDll, int? SinkQueue);

    public static Command Create()
    {
        var spans = CliOptions.PositiveInt("--spans", "N", "spans the agent makes", 500_000);
        var unpaced = new Option<bool>("--unpaced") { Description = "do not pace the generator to the guest buffer (it overflows on purpose)" };
        var agent = new Option<string>("--agent") { Description = "the agent to run as a host process (default: the one built beside the shim)", HelpName = "DLL" };
        // Unset unless asked for: it is there to see what the sink's queue bound costs at this rate.
        var sinkQueue = CliOptions.OptionalPositiveInt("--sink-queue", "N", $"override the sink's queue bound of {SinkOptions.Default.MaxQueuedSpans} spans, to compare");
        var command = new Command("relay",
            "Spans from a host-process agent through the relay and an OTLP/gRPC sink to a local receiver, at default bounds: spans/s and drop counts.")
        {
            spans, unpaced, agent, sinkQueue,
        };
        command.SetAction((r, ct) => RunAsync(new Request(r.GetValue(spans), r.GetValue(unpaced), r.GetValue(agent), r.GetValue(sinkQueue)), ct));
        return command;
    }

    private static async Task<int> RunAsync(Request request, CancellationToken ct)
    {
        var (spans, unpaced) = (request.Spans, request.Unpaced);
        var sinkOptions = request.SinkQueue is { } q ? SinkOptions.Default with { MaxQueuedSpans = q } : SinkOptions.Default;
        var dll = request.AgentDll ?? HostAgent.AgentDll();
        Console.WriteLine(BenchCommand.NoisyNote);
        Console.WriteLine($"bench relay: {spans} spans, generator {(unpaced ? "unpaced (overflows the buffer on purpose)" : "paced to the guest buffer")}");
        Console.WriteLine($"  guest buffer {SpanBufferDefaults}, relay {RelayBounds.Default.MaxSpansPerSecond:0} spans/s and {RelayBounds.Default.MaxSpansPerVm} per VM, " +
            $"sink queue {sinkOptions.MaxQueuedSpans} spans / {sinkOptions.MaxQueuedBatches} batches{(sinkOptions == SinkOptions.Default ? "" : " (NOT the default)")}");

        string[] agentArgs = ["--generate-spans", spans.ToString(), .. (unpaced ? new[] { "--generate-unpaced" } : [])];
        await using var agent = await HostAgent.StartAsync(dll, agentArgs, TimeSpan.FromSeconds(30));
        await using var receiver = await OtlpReceiver.StartAsync(keepSpans: false);
        await using var sinks = new SpanSinkSet([new OtlpGrpcSink(new OtlpDestination("bench-receiver", OtlpProtocol.Grpc, receiver.GrpcEndpoint), options: sinkOptions)]);
        var client = agent.Client;
        var now = DateTime.UtcNow;
        await using var relay = new GuestSpanRelay(client.Traces, new ClockEstimate(0, 0, now, 0, 1), sinks, RelayBounds.Default,
            now.AddMinutes(-1), new Dictionary<string, string> { ["service.instance.id"] = "bench-relay" });

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

        Console.WriteLine($"end to end (stream open -> OTLP receiver has them): {total.TotalMilliseconds:0} ms, {receiver.SpanCount / total.TotalSeconds:0} spans/s");
        Console.WriteLine($"  guest -> relay alone: {relayed.TotalMilliseconds:0} ms, {relay.Stats.Received / relayed.TotalSeconds:0} spans/s");
        Console.WriteLine($"guest:    recorded {drain.SpansRecorded}, sent {drain.Stats.SpansSent}, dropped {drain.Stats.SpansDropped} ({drain.Stats.BytesDropped} bytes)");
        Console.WriteLine($"relay:    {relay.Stats}");
        var sink = sinks.Stats;
        Console.WriteLine($"sink:     sent {sink.SpansSent}, dropped {sink.SpansDropped}{(sink.LastError is { } e ? ", last error " + e : "")}");
        Console.WriteLine($"receiver: {receiver.SpanCount} spans in {receiver.RequestCount} export requests");
        var lost = spans - receiver.SpanCount;
        Console.WriteLine(lost == 0 ? "result: no span lost" : $"result: {lost} of {spans} spans did not reach the receiver (see the drop counts above)");
        return 0;
    }

    private static string SpanBufferDefaults => "16384 spans / 8 MiB (agent defaults)";
}
