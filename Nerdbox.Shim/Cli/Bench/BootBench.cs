using System.CommandLine;
using Nerdbox.Engine.Boot;
using static Nerdbox.Shim.Cli.Bench.BenchRuns;

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
        var json = CliOptions.OutputFile("--json", "also write the figures as JSON: each phase's samples, median and p90, the configuration, the machine and time");
        var readyWhen = CliOptions.ReadyWhen();
        readyWhen.Description = "boot the app sample (sample --app, its spans relayed to no destination) and add the phase \"boot to app ready\": the end of its first span with this name, e.g. app.Ready";
        var (command, count, vm) = BenchCommand.VmVerb("boot", "Boot N VMs and print the median and p90 of each boot phase and of boot to output.", 10, json, readyWhen);
        command.SetAction((r, ct) => RunAsync(r.GetValue(count), vm.Read(r), r.GetValue(json), r.GetValue(readyWhen), ct));
        return command;
    }

    private static async Task<int> RunAsync(int count, VmRequest vm, string? json, string? readyWhen, CancellationToken ct)
    {
        var host = BenchHost.Now();
        var (prepared, bundle) = await PrepareAsync(vm, ct, app: readyWhen is not null);
        var (options, sinks) = BenchRuns.ReadyWhen(prepared, readyWhen);
        var runs = new List<BootPhases>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var run = await RunOnceAsync($"bench-{Environment.ProcessId}-{i}", bundle, options, sinks, ct);
                if (run is null) continue;
                runs.Add(run.Phases);
                Console.Error.WriteLine($"boot {i + 1}/{count}: {run.Phases.BootToOutput?.TotalMilliseconds:0} ms to output" +
                    (readyWhen is null ? "" : run.Phases.BootToAppReady is { } ready ? $", {ready.TotalMilliseconds:0} ms to app ready" : ", app ready never came"));
            }
        }
        finally
        {
            Directory.Delete(bundle, true);
        }
        var figures = BenchSide.Of(BenchVm.From(options), count - runs.Count, runs, appReady: readyWhen is not null);
        Console.WriteLine(Report(figures));
        if (PhaseFigures.AppReadyNote(runs, readyWhen) is { } note) Console.WriteLine(note);
        if (FailureNote.Length > 0) Console.WriteLine(FailureNote);
        BenchJson.Write(json, BenchJson.Serialize(new BootBenchReport(host, count, figures)));
        if (runs.Count == 0)
        {
            Console.Error.WriteLine("nerdbox: every boot failed");
            return 1;
        }
        var spawns = await AgentSpawnBench.MeasureAsync(options.Image.AgentPath, count, ct);
        var sorted = spawns.Select(t => t.TotalMilliseconds).Order().ToArray();
        Console.WriteLine($"{"agent spawn to first reply (host process, NativeAOT)",-20} {Percentile(sorted, 0.5),10:0.0} {Percentile(sorted, 0.9),10:0.0}");
        return 0;
    }

    internal static string Report(BenchSide figures)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"boots: {figures.Boots} ({figures.Vm})");
        sb.AppendLine($"{"phase",-20} {"median ms",10} {"p90 ms",10}");
        foreach (var p in figures.Phases.Where(p => p.SamplesMs.Count > 0))
            sb.AppendLine($"{p.Name,-20} {p.MedianMs,10:0.0} {p.P90Ms,10:0.0}");
        if (figures.VmmAnonMemory.MedianMib is { } median)
        {
            sb.AppendLine($"{MemoryFigures.Name,-20} {median,10:0.0} {figures.VmmAnonMemory.P90Mib,10:0.0}");
            sb.AppendLine(MemoryFigures.Note);
        }
        return sb.ToString();
    }
}
