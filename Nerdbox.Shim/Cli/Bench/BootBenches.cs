using System.Net;
using System.Net.Sockets;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Tasks;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Telemetry;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Vm;
using Nerdbox.Telemetry.Tracing;
using Nerdbox.Testing;
using Nerdbox.Engine.Boot;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// The benchmarks that boot VMs: <c>trace-overhead</c> (tracing on against off), <c>clock</c> (what
/// remains of the guest's clock offset after correction) and <c>otlp-down</c> (a dead collector
/// against a live one). Runs of the two kinds alternate in one process, so drift in the machine's
/// load hits both alike.
/// </summary>
public static class BootBenches
{
    /// <summary>One run; a boot that fails is reported and counted, and the benchmark goes on without it.</summary>
    private static async Task<TaskRun.Outcome?> RunOnceAsync(string id, string bundle, VmTaskOptions options, ISpanSink? sinks, CancellationToken ct)
    {
        using var tracing = sinks is null ? null : ShimTracerProvider.Create(sinks);
        try
        {
            return await TaskRun.RunAsync(id, bundle, options with { GuestSpanSink = sinks }, ct: ct);
        }
        catch (VmException e)
        {
            Failures++;
            Console.Error.WriteLine($"nerdbox: run {id} failed, left out: {e.Message.Split('\n')[0]}");
            return null;
        }
    }

    private static int Failures;

    private static string FailureNote => Failures == 0 ? "" : $"  {Failures} boot(s) failed and are left out of the figures";

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>The backend, a built image and the one-line busybox bundle every boot benchmark runs.</summary>
    internal static async Task<(VmTaskOptions Options, string Bundle)> PrepareAsync(CliArgs a, CancellationToken ct)
    {
        var options = await RunCommand.PrepareAsync(a, l => Console.Error.WriteLine("nerdbox: " + l), ct);
        var bundle = Path.Combine(Path.GetTempPath(), "nerdbox-bench-" + Environment.ProcessId);
        await SampleBundle.CreateAsync(bundle, ["echo", "ready"], ct);
        return (options, bundle);
    }

    public static async Task<int> TraceOverheadAsync(CliArgs a, CancellationToken ct)
    {
        var count = a.GetInt("count", 6);
        var (options, bundle) = await PrepareAsync(a, ct);
        await using var receiver = await OtlpReceiver.StartAsync(keepSpans: false);
        await using var sinks = new SpanSinkSet([new OtlpGrpcSink(new OtlpDestination("bench-receiver", OtlpProtocol.Grpc, receiver.GrpcEndpoint))]);
        var on = new List<TaskRun.Outcome>();
        var off = new List<TaskRun.Outcome>();
        try
        {
            // One untimed boot of each kind first: the first boot of a process pays for JIT and the page cache.
            await RunOnceAsync($"warm-on-{Environment.ProcessId}", bundle, options, sinks, ct);
            await RunOnceAsync($"warm-off-{Environment.ProcessId}", bundle, options, null, ct);
            for (var i = 0; i < count; i++)
            {
                // ABBA order, so that neither kind always goes first.
                foreach (var traced in i % 2 == 0 ? new[] { true, false } : [false, true])
                {
                    var run = await RunOnceAsync($"overhead-{Environment.ProcessId}-{i}-{(traced ? "on" : "off")}", bundle, options, traced ? sinks : null, ct);
                    if (run is null) continue;
                    (traced ? on : off).Add(run);
                    Console.Error.WriteLine($"boot {i + 1}/{count} tracing {(traced ? "on " : "off")}: {run.Phases.BootToOutput?.TotalMilliseconds:0} ms to output" +
                        (traced ? $", guest spans forwarded {run.Relay?.Forwarded}" : ""));
                }
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

    public static async Task<int> OtlpDownAsync(CliArgs a, CancellationToken ct)
    {
        var count = a.GetInt("count", 6);
        var (options, bundle) = await PrepareAsync(a, ct);
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
            for (var i = 0; i < count; i++)
            {
                foreach (var isDown in i % 2 == 0 ? new[] { true, false } : [false, true])
                {
                    var run = await RunOnceAsync($"otlp-{Environment.ProcessId}-{i}-{(isDown ? "down" : "up")}", bundle, options, isDown ? down : live, ct);
                    if (run is null) continue;
                    var ms = run.Phases.BootToOutput?.TotalMilliseconds ?? double.NaN;
                    (isDown ? downRuns : upRuns).Add(ms);
                    Console.Error.WriteLine($"boot {i + 1}/{count} collector {(isDown ? "down" : "live")}: {ms:0} ms to output");
                }
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

    public static async Task<int> ClockAsync(CliArgs a, CancellationToken ct)
    {
        var count = a.GetInt("count", 10);
        var probes = a.GetInt("probes", 16);
        var (options, bundle) = await PrepareAsync(a, ct);
        var rows = new List<(long Before, long Estimate, long Uncertainty, long ResidualNow, long ResidualLater, long CheckRtt)>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var id = $"clock-{Environment.ProcessId}-{i}";
                VmTask task;
                try
                {
                    task = await VmTask.CreateAsync(id, bundle, options, ct);
                }
                catch (VmException e)
                {
                    Failures++;
                    Console.Error.WriteLine($"nerdbox: boot {id} failed, left out: {e.Message.Split('\n')[0]}");
                    continue;
                }
                await using var _ = task;
                var clock = task.Clock;
                // Independently of the sync: more timestamped probes, trusting the one with the lowest round trip.
                var now = await ClockSync.BestProbeAsync(task.Agent!.System, probes, ct);
                await task.StartAsync(ct);
                await task.WaitAsync(ct);
                var later = await ClockSync.BestProbeAsync(task.Agent!.System, probes, ct);
                await task.DeleteAsync(ct);
                rows.Add((clock.OffsetBeforeSetNs, clock.OffsetNs, clock.UncertaintyNs, now.OffsetNs - clock.OffsetNs, later.OffsetNs - clock.OffsetNs, now.RoundTripNs));
                Console.Error.WriteLine($"boot {i + 1}/{count}: RTC error {clock.OffsetBeforeSetNs / 1e6:0.000} ms, after set {clock.OffsetNs / 1e6:0.000} ms, " +
                    $"residual after correction {(now.OffsetNs - clock.OffsetNs) / 1e6:0.000} ms (at the end of the run {(later.OffsetNs - clock.OffsetNs) / 1e6:0.000} ms)");
            }
        }
        finally
        {
            Directory.Delete(bundle, true);
        }
        static double Ms(long ns) => ns / 1e6;
        var abs = rows.Select(r => Math.Abs(Ms(r.ResidualNow))).ToArray();
        var absLater = rows.Select(r => Math.Abs(Ms(r.ResidualLater))).ToArray();
        Console.WriteLine($"bench clock: {count} boots ({options.Backend.Name}); residual = offset measured by {probes} fresh probes (lowest round trip) minus the offset the relay subtracts");
        Console.WriteLine($"{"",-44} {"median",10} {"worst",10}");
        Console.WriteLine($"{"|residual| right after sync, ms",-44} {Median(abs),10:0.000} {abs.Max(),10:0.000}");
        Console.WriteLine($"{"|residual| at the end of the run, ms",-44} {Median(absLater),10:0.000} {absLater.Max(),10:0.000}");
        Console.WriteLine($"{"|RTC error| before the set (pre-set offset), ms",-44} {Median(rows.Select(r => Math.Abs(Ms(r.Before)))),10:0.000} {rows.Max(r => Math.Abs(Ms(r.Before))),10:0.000}");
        Console.WriteLine($"{"|offset| left after the set (corrected), ms",-44} {Median(rows.Select(r => Math.Abs(Ms(r.Estimate)))),10:0.000} {rows.Max(r => Math.Abs(Ms(r.Estimate))),10:0.000}");
        Console.WriteLine($"{"stated uncertainty (half RTT), ms",-44} {Median(rows.Select(r => Ms(r.Uncertainty))),10:0.000} {rows.Max(r => Ms(r.Uncertainty)),10:0.000}");
        Console.WriteLine($"{"round trip of the checking probe, ms",-44} {Median(rows.Select(r => Ms(r.CheckRtt))),10:0.000} {rows.Max(r => Ms(r.CheckRtt)),10:0.000}");
        if (FailureNote.Length > 0) Console.WriteLine(FailureNote);
        return 0;
    }
}
