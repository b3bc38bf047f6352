using System.CommandLine;
using Nerdbox.Engine.Tasks;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Testing;
using static Nerdbox.Shim.Cli.Bench.BenchRuns;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench trace-overhead</c>: boot to output with tracing on (tracer provider, sink set, guest relay)
/// and off. Runs of the two kinds alternate in one process, so drift in the machine's load hits both alike.
/// </summary>
public static class TraceOverheadBench
{
    public static Command Create()
    {
        var (command, count, vm) = BenchCommand.VmVerb("trace-overhead",
            "Boot to output with tracing on and off, alternating; print the medians and the on/off ratio.", 6);
        command.SetAction((r, ct) => RunAsync(r.GetValue(count), vm.Read(r), ct));
        return command;
    }

    private static async Task<int> RunAsync(int count, VmRequest vm, CancellationToken ct)
    {
        Console.WriteLine(BenchCommand.NoisyNote);
        var (options, bundle) = await PrepareAsync(vm, ct);
        await using var receiver = await OtlpReceiver.StartAsync(keepSpans: false);
        await using var sinks = new SpanSinkSet([new OtlpGrpcSink(new OtlpDestination("bench-receiver", OtlpProtocol.Grpc, receiver.GrpcEndpoint))]);
        var on = new List<TaskRun.Outcome>();
        var off = new List<TaskRun.Outcome>();
        try
        {
            // One untimed boot of each kind first: the first boot of a process pays for JIT and the page cache.
            await RunOnceAsync($"warm-on-{Environment.ProcessId}", bundle, options, sinks, ct);
            await RunOnceAsync($"warm-off-{Environment.ProcessId}", bundle, options, null, ct);
            foreach (var (i, traced) in Alternating(true, false, count))
            {
                var run = await RunOnceAsync($"overhead-{Environment.ProcessId}-{i}-{(traced ? "on" : "off")}", bundle, options, traced ? sinks : null, ct);
                if (run is null) continue;
                (traced ? on : off).Add(run);
                Console.Error.WriteLine($"boot {i + 1}/{count} tracing {(traced ? "on " : "off")}: {run.Phases.BootToOutput?.TotalMilliseconds:0} ms to output" +
                    (traced ? $", guest spans forwarded {run.Relay?.Forwarded}" : ""));
            }
        }
        finally
        {
            Directory.Delete(bundle, true);
        }
        await sinks.FlushAsync(TimeSpan.FromSeconds(10));
        double Ms(TaskRun.Outcome r) => r.Phases.BootToOutput?.TotalMilliseconds ?? double.NaN;
        double RunMs(TaskRun.Outcome r) => ((r.Phases.Exited ?? r.Phases.FirstOutput ?? r.Phases.CreateStarted) - r.Phases.CreateStarted).TotalMilliseconds;
        var (mOn, mOff) = (Median(on.Select(Ms)), Median(off.Select(Ms)));
        var (rOn, rOff) = (Median(on.Select(RunMs)), Median(off.Select(RunMs)));
        Console.WriteLine($"bench trace-overhead: {count} boots each, alternating ({options.Backend.Name})");
        Console.WriteLine($"  on  = tracer provider + sink set (OTLP/gRPC to a local receiver) + guest relay; off = no listener, no relay");
        Console.WriteLine($"{"",-22} {"on ms",10} {"off ms",10} {"on/off",8}");
        Console.WriteLine($"{"boot to output",-22} {mOn,10:0.0} {mOff,10:0.0} {mOn / mOff,8:0.000}");
        Console.WriteLine($"{"create to exit",-22} {rOn,10:0.0} {rOff,10:0.0} {rOn / rOff,8:0.000}");
        Console.WriteLine($"  boot to output, each run (ms): on [{string.Join(", ", on.Select(r => Ms(r).ToString("0")))}], off [{string.Join(", ", off.Select(r => Ms(r).ToString("0")))}]");
        Console.WriteLine($"  receiver got {receiver.SpanCount} spans; sink sent {sinks.Stats.SpansSent}, dropped {sinks.Stats.SpansDropped}");
        if (FailureNote.Length > 0) Console.WriteLine(FailureNote);
        return 0;
    }
}
