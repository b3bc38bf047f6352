using System.Diagnostics;
using System.Net.Sockets;
using Nerdbox.Api.Traces.V1;
using Nerdbox.ServiceDefaults.Otlp;
using Nerdbox.Shim.Agent;
using Nerdbox.Shim.Clock;
using Nerdbox.Shim.GuestImage;
using Nerdbox.Shim.Telemetry;
using Nerdbox.Shim.Tracing;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench relay</c>: the guest agent as a host process makes N spans (its benchmark generator,
/// <c>--generate-spans</c>) once the trace stream opens; the shim's <see cref="GuestSpanRelay"/> reads
/// them and forwards them through a real <see cref="OtlpGrpcSink"/> to a counting OTLP receiver.
/// Every bound is the default one. Prints spans/s from stream open until the receiver has them all.
/// </summary>
public static class RelayBench
{
    public static async Task<int> RunAsync(CliArgs a, CancellationToken ct)
    {
        var spans = a.GetInt("spans", 500_000);
        var unpaced = a.Has("unpaced");
        // Not a default: to see what the sink's queue bound costs at this rate.
        var sinkOptions = a.Get("sink-queue") is { } q ? SinkOptions.Default with { MaxQueuedSpans = int.Parse(q) } : SinkOptions.Default;
        var dll = a.Get("agent") ?? FindAgent();
        Console.WriteLine($"bench relay: {spans} spans, generator {(unpaced ? "unpaced (overflows the buffer on purpose)" : "paced to the guest buffer")}");
        Console.WriteLine($"  guest buffer {SpanBufferDefaults}, relay {RelayBounds.Default.MaxSpansPerSecond:0} spans/s and {RelayBounds.Default.MaxSpansPerVm} per VM, " +
            $"sink queue {sinkOptions.MaxQueuedSpans} spans / {sinkOptions.MaxQueuedBatches} batches{(sinkOptions == SinkOptions.Default ? "" : " (NOT the default)")}");

        var dir = Path.Combine(Path.GetTempPath(), "nb-relay-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var socket = Path.Combine(dir, "agent.sock");
        string[] agentArgs = [dll, "--unix", socket, "--state", Path.Combine(dir, "state"), "--generate-spans", spans.ToString(), .. (unpaced ? new[] { "--generate-unpaced" } : [])];
        using var agent = Process.Start(new ProcessStartInfo("dotnet", agentArgs) { RedirectStandardError = true, UseShellExecute = false })!;
        var agentLog = new System.Text.StringBuilder();
        var listening = new TaskCompletionSource();
        agent.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (agentLog) agentLog.AppendLine(e.Data);
            if (e.Data.Contains("listening on", StringComparison.Ordinal)) listening.TrySetResult();
        };
        agent.BeginErrorReadLine();
        try
        {
            if (await Task.WhenAny(listening.Task, agent.WaitForExitAsync(ct), Task.Delay(30_000, ct)) != listening.Task)
                throw new InvalidOperationException("the agent did not start:\n" + agentLog);

            await using var receiver = await CountingOtlpReceiver.StartAsync();
            await using var sinks = new SpanSinkSet([new OtlpGrpcSink(new OtlpDestination("bench-receiver", OtlpProtocol.Grpc, receiver.Endpoint), options: sinkOptions)]);
            using var client = new AgentClient(async c =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), c);
                return new NetworkStream(s, ownsSocket: true);
            });
            var now = DateTime.UtcNow;
            await using var relay = new GuestSpanRelay(client.Traces, new ClockEstimate(0, 0, now, 0, 1), sinks, RelayBounds.Default,
                now.AddMinutes(-1), new Dictionary<string, string> { ["nerdbox.vm.id"] = "bench-relay" });

            var sw = Stopwatch.StartNew();
            relay.Start();
            var deadline = DateTime.UtcNow.AddMinutes(5);
            // Every span is either received by the relay or counted dropped by the guest's buffer.
            while (relay.Stats.Received + relay.Stats.GuestDroppedSpans < spans && DateTime.UtcNow < deadline && !agent.HasExited)
                await Task.Delay(1, ct);
            var relayed = sw.Elapsed;
            await sinks.FlushAsync(TimeSpan.FromSeconds(60));
            var expected = relay.Stats.Forwarded - sinks.Stats.SpansDropped;
            await receiver.WaitForSpansAsync(expected, TimeSpan.FromSeconds(30));
            var total = sw.Elapsed;
            var drain = await client.Traces.DrainAsync(new DrainRequest(), cancellationToken: ct);

            Console.WriteLine($"end to end (stream open -> OTLP receiver has them): {total.TotalMilliseconds:0} ms, {receiver.Spans / total.TotalSeconds:0} spans/s");
            Console.WriteLine($"  guest -> relay alone: {relayed.TotalMilliseconds:0} ms, {relay.Stats.Received / relayed.TotalSeconds:0} spans/s");
            Console.WriteLine($"guest:    recorded {drain.SpansRecorded}, sent {drain.Stats.SpansSent}, dropped {drain.Stats.SpansDropped} ({drain.Stats.BytesDropped} bytes)");
            Console.WriteLine($"relay:    {relay.Stats}");
            var sink = sinks.Stats;
            Console.WriteLine($"sink:     sent {sink.SpansSent}, dropped {sink.SpansDropped}{(sink.LastError is { } e ? ", last error " + e : "")}");
            Console.WriteLine($"receiver: {receiver.Spans} spans in {receiver.Requests} export requests");
            var lost = spans - receiver.Spans;
            Console.WriteLine(lost == 0 ? "result: no span lost" : $"result: {lost} of {spans} spans did not reach the receiver (see the drop counts above)");
            return 0;
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill(entireProcessTree: true);
                await agent.WaitForExitAsync(CancellationToken.None);
            }
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static string SpanBufferDefaults => "16384 spans / 8 MiB (agent defaults)";

    /// <summary>The agent most recently built in this source tree, built now when there is none.</summary>
    private static string FindAgent()
    {
        var root = SourceTree.FindRoot() ?? throw new ArgumentException("cannot find the source tree; pass --agent PATH/nerdbox-agent.dll");
        var newest = new[] { "Release", "Debug" }
            .Select(config => new FileInfo(Path.Combine(root, "Nerdbox.GuestAgent", "bin", config, "net10.0", "nerdbox-agent.dll")))
            .Where(f => f.Exists).OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault();
        if (newest is not null) return newest.FullName;
        Console.Error.WriteLine("nerdbox: building the guest agent for the host (Release)");
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", Path.Combine(root, "Nerdbox.GuestAgent"), "-c", "Release", "-v", "q"]))!;
        build.WaitForExit();
        var built = Path.Combine(root, "Nerdbox.GuestAgent", "bin", "Release", "net10.0", "nerdbox-agent.dll");
        return File.Exists(built) ? built : throw new ArgumentException("the guest agent did not build; pass --agent PATH");
    }
}
