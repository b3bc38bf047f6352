using System.CommandLine;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using static Nerdbox.Shim.Cli.Bench.BenchRuns;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench clock</c>: what remains of the guest's clock offset after the boot's correction, measured
/// by fresh probes right after the sync and at the end of the run, and the RTC error the sync corrected.
/// </summary>
public static class ClockBench
{
    public static Command Create()
    {
        var probes = CliOptions.PositiveInt("--probes", "N", "fresh clock probes per measurement (the lowest round trip counts)", 16);
        var (command, count, vm) = BenchCommand.VmVerb("clock",
            "Measure the guest clock offset left after each boot's sync; print the median and worst |residual| and the RTC error.", 10, probes);
        command.SetAction((r, ct) => RunAsync(r.GetValue(count), r.GetValue(probes), vm.Read(r), ct));
        return command;
    }

    private static async Task<int> RunAsync(int count, int probes, VmRequest vm, CancellationToken ct)
    {
        Console.WriteLine(BenchCommand.NoisyNote);
        var (options, bundle) = await PrepareAsync(vm, ct);
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
                    Failed($"boot {id}", e);
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
