using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Boot;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>bench boot</c>: boots N VMs one after another, each running a busybox container that prints
/// a line, and prints the median and p90 of boot-to-output and of each phase. The tracing
/// benchmarks (<c>relay</c>, <c>trace-overhead</c>, <c>clock</c>, <c>otlp-down</c>) are in <see cref="Bench"/>.
/// </summary>
public static class BenchCommand
{
    public const string Usage = """
        usage: nerdbox-shim bench VERB [options]
          boot [--count N]             boot N VMs, print boot-phase percentiles
          relay [--spans N] [--unpaced] [--agent DLL] [--sink-queue N]
                                       guest -> relay -> OTLP/gRPC throughput and drop counts, default bounds
                                       (--sink-queue overrides the sink's queue bound, to compare)
          trace-overhead [--count N]   boot to output with tracing on vs off, alternating; medians and ratio
          clock [--count N] [--probes N]
                                       residual guest clock offset after correction, and the RTC error seen
          otlp-down [--count N]        boot to output with the OTLP endpoint on a closed port vs a live receiver
          (VM verbs also take --backend NAME --accel NAME)
        """;

    public const string NoisyNote = "note: shared machine (2 cores, other work running): these figures are noisy; compare within one run, not across runs";

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var a = new CliArgs(args, "unpaced");
        var verb = a.Positional.FirstOrDefault();
        if (verb is "relay" or "trace-overhead" or "clock" or "otlp-down") Console.WriteLine(NoisyNote);
        switch (verb)
        {
            case "boot": break;
            case "relay": return await Bench.RelayBench.RunAsync(a, ct);
            case "trace-overhead": return await Bench.BootBenches.TraceOverheadAsync(a, ct);
            case "clock": return await Bench.BootBenches.ClockAsync(a, ct);
            case "otlp-down": return await Bench.BootBenches.OtlpDownAsync(a, ct);
            default:
                Console.Error.WriteLine(Usage);
                return 2;
        }
        var count = a.GetInt("count", 10);
        var (options, bundle) = await Bench.BootBenches.PrepareAsync(a, ct);
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
        var spawns = await Bench.AgentSpawnBench.MeasureAsync(options.Image.AgentPath, count, ct);
        var sorted = spawns.Select(t => t.TotalMilliseconds).Order().ToArray();
        Console.WriteLine($"{"agent spawn to first reply (host process, NativeAOT)",-20} {Percentile(sorted, 0.5),10:0.0} {Percentile(sorted, 0.9),10:0.0}");
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
            sb.AppendLine($"{name,-20} {Percentile(v, 0.5),10:0.0} {Percentile(v, 0.9),10:0.0}");
        }
        var names = runs[0].Phases().Select(p => p.Name).ToList();
        for (var i = 0; i < names.Count; i++) Row(names[i], runs.Select(r => r.Phases()[i].Duration));
        Row("boot to output", runs.Select(r => r.BootToOutput));
        return sb.ToString();
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
