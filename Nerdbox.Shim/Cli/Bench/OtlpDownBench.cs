using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Testing;
using static Nerdbox.Shim.Cli.Bench.BenchRuns;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench otlp-down</c>: boot to output with the OTLP endpoint on a closed port against a live
/// receiver, alternating in one process; a collector that is down must not slow a boot.
/// </summary>
public static class OtlpDownBench
{
    public static Command Create()
    {
        var (command, count, vm) = BenchCommand.VmVerb("otlp-down",
            "Boot to output with the OTLP endpoint on a closed port vs a live receiver, alternating; print both medians and their ratio.", 6);
        command.SetAction((r, ct) => RunAsync(r.GetValue(count), vm.Read(r), ct));
        return command;
    }

    private static async Task<int> RunAsync(int count, VmRequest vm, CancellationToken ct)
    {
        Console.WriteLine(BenchCommand.NoisyNote);
        var (options, bundle) = await PrepareAsync(vm, ct);
        await using var receiver = await OtlpReceiver.StartAsync(keepSpans: false);
        var closed = new Uri($"http://127.0.0.1:{ClosedPort()}/");
        await using var live = new SpanSinkSet([new OtlpGrpcSink(new OtlpDestination("live", OtlpProtocol.Grpc, receiver.GrpcEndpoint))]);
        await using var down = new SpanSinkSet([new OtlpGrpcSink(new OtlpDestination("down", OtlpProtocol.Grpc, closed))]);
        var upRuns = new List<double>();
        var downRuns = new List<double>();
        try
        {
            await RunOnceAsync($"warm-up-{Environment.ProcessId}", bundle, options, live, ct);
            await RunOnceAsync($"warm-down-{Environment.ProcessId}", bundle, options, down, ct);
            foreach (var (i, isDown) in Alternating(true, false, count))
            {
                var run = await RunOnceAsync($"otlp-{Environment.ProcessId}-{i}-{(isDown ? "down" : "up")}", bundle, options, isDown ? down : live, ct);
                if (run is null) continue;
                var ms = run.Phases.BootToOutput?.TotalMilliseconds ?? double.NaN;
                (isDown ? downRuns : upRuns).Add(ms);
                Console.Error.WriteLine($"boot {i + 1}/{count} collector {(isDown ? "down" : "live")}: {ms:0} ms to output");
            }
        }
        finally
        {
            Directory.Delete(bundle, true);
        }
        await Task.WhenAll(live.FlushAsync(TimeSpan.FromSeconds(10)), down.FlushAsync(TimeSpan.FromSeconds(10)));
        var (mDown, mUp) = (Median(downRuns), Median(upRuns));
        Console.WriteLine($"bench otlp-down: {count} boots each, alternating ({options.Backend.Name}); tracing on in both");
        Console.WriteLine($"{"collector",-24} {"median boot to output ms",26}");
        Console.WriteLine($"{"down (" + closed.Authority + ")",-24} {mDown,26:0.0}");
        Console.WriteLine($"{"live",-24} {mUp,26:0.0}");
        Console.WriteLine($"ratio down/live: {mDown / mUp:0.000} ({(mDown / mUp - 1) * 100:+0.0;-0.0}%)");
        Console.WriteLine($"  each run (ms): down [{string.Join(", ", downRuns.Select(x => x.ToString("0")))}], live [{string.Join(", ", upRuns.Select(x => x.ToString("0")))}]");
        Console.WriteLine($"  live sink: sent {live.Stats.SpansSent}, dropped {live.Stats.SpansDropped}; receiver got {receiver.SpanCount}");
        Console.WriteLine($"  down sink: sent {down.Stats.SpansSent}, dropped {down.Stats.SpansDropped}, last error: {down.Stats.LastError ?? "none"}");
        if (FailureNote.Length > 0) Console.WriteLine(FailureNote);
        return 0;
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
