using System.CommandLine;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Tasks;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench boot</c>: boots N VMs one after another, each running a busybox container that prints
/// a line, and prints the median and p90 of boot-to-output and of each phase; then the agent's own
/// spawn time as a host process.
/// </summary>
public static class BootBench
{
    public static Command Create()
    {
        var (command, count, vm) = BenchCommand.VmVerb("boot", "Boot N VMs and print the median and p90 of each boot phase and of boot to output.", 10);
        command.SetAction((r, ct) => RunAsync(r.GetValue(count), vm.Read(r), ct));
        return command;
    }

    private static async Task<int> RunAsync(int count, VmRequest vm, CancellationToken ct)
    {
        var (options, bundle) = await BenchRuns.PrepareAsync(vm, ct);
        var runs = new List<BootPhases>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var run = await TaskRun.RunAsync($"bench-{Environment.ProcessId}-{i}", bundle, options, ct: ct);
                runs.Add(run.Phases);
                Console.Error.WriteLine($"boot {i + 1}/{count}: {run.Phases.BootToOutput?.TotalMilliseconds:0} ms to output");
            }
        }
        finally
        {
            Directory.Delete(bundle, true);
        }
        Console.WriteLine(Report(runs, options.Backend.Name));
        var spawns = await AgentSpawnBench.MeasureAsync(options.Image.AgentPath, count, ct);
        var sorted = spawns.Select(t => t.TotalMilliseconds).Order().ToArray();
        Console.WriteLine($"{"agent spawn to first reply (host process, NativeAOT)",-20} {BenchRuns.Percentile(sorted, 0.5),10:0.0} {BenchRuns.Percentile(sorted, 0.9),10:0.0}");
        return 0;
    }

    public static string Report(IReadOnlyList<BootPhases> runs, string backend)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"boots: {runs.Count} ({backend})");
        sb.AppendLine($"{"phase",-20} {"median ms",10} {"p90 ms",10}");
        void Row(string name, IEnumerable<TimeSpan?> values)
        {
            var v = values.Where(x => x is not null).Select(x => x!.Value.TotalMilliseconds).Order().ToArray();
            if (v.Length == 0) return;
            sb.AppendLine($"{name,-20} {BenchRuns.Percentile(v, 0.5),10:0.0} {BenchRuns.Percentile(v, 0.9),10:0.0}");
        }
        var names = runs[0].Phases().Select(p => p.Name).ToList();
        for (var i = 0; i < names.Count; i++) Row(names[i], runs.Select(r => r.Phases()[i].Duration));
        Row("boot to output", runs.Select(r => r.BootToOutput));
        return sb.ToString();
    }
}
