using Microsoft.Extensions.Logging;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Boot;
using Nerdbox.Telemetry.Tracing;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>run BUNDLE</c>: boots a VM, runs the bundle's container in it, prints its output, a
/// per-phase timing summary, and exits with the container's exit code.
/// </summary>
public static class RunCommand
{
    public const string Usage = """
        usage: nerdbox-shim run BUNDLE [options]
          --id ID             task id (default: run-<random>)
          --backend NAME      auto (default), qemu or libkrun
          --accel NAME        auto (default), kvm or tcg
          --cpus N            guest CPUs (default 1)
          --memory MIB        guest memory (default 512)
          --timeout SECONDS   how long the guest agent may take to answer (default 30)
          --trace FORMAT      print this run's trace when it ends: tree, mermaid or markdown
          --trace-file PATH   also write the trace as OTLP JSON (read it with: trace show --source file:PATH)
          --quiet             no progress or summary on stderr
        The trace also goes to OTEL_EXPORTER_OTLP_ENDPOINT and NERDBOX_OTLP_EXTRA_ENDPOINTS when set.
        """;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var a = new CliArgs(args, "quiet");
        if (a.Positional.Count != 1) { Console.Error.WriteLine(Usage); return 2; }
        var quiet = a.Has("quiet");
        void Progress(string line) { if (!quiet) Console.Error.WriteLine("nerdbox: " + line); }

        var traceFormat = a.Get("trace");
        if (traceFormat is not (null or "tree" or "mermaid" or "markdown")) throw new ArgumentException($"--trace wants tree, mermaid or markdown, not '{traceFormat}'");

        var options = await PrepareAsync(a, Progress, ct);
        var id = a.Get("id") ?? "run-" + Guid.NewGuid().ToString("N")[..8];
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(quiet ? LogLevel.Error : LogLevel.Warning));
        await using var tracing = CliTracing.Start(loggers, a.Get("trace-file"));
        Progress($"booting a VM ({options.Backend.Name}) for {a.Positional[0]}");
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        TaskRun.Outcome run;
        try
        {
            run = await TaskRun.RunAsync(id, a.Positional[0], options with { GuestSpanSink = tracing.Sinks }, (isErr, data) =>
            {
                lock (stdout) (isErr ? stderr : stdout).Write(data.Span);
            }, ct: ct);
        }
        finally
        {
            // A failed run's trace is the one most worth reading: it goes out as well.
            await tracing.FlushAsync(TimeSpan.FromSeconds(5));
        }
        Progress($"container exited with {run.ExitStatus} ({run.Backend}, agent {run.Agent?.AgentVersion}, kernel {run.Agent?.KernelRelease})");
        if (!quiet)
        {
            Console.Error.WriteLine(run.Phases.Summary());
            Console.Error.WriteLine($"trace {run.TraceId}" + (run.Relay is { } r ? $"; guest spans: {r}" : ""));
            foreach (var line in tracing.Report()) Console.Error.WriteLine("  " + line);
        }
        if (traceFormat is not null)
        {
            var model = await new TraceViewer.Sources.InMemoryOtlpSource(tracing.Memory.Snapshot()).GetAsync(run.TraceId, ct);
            Console.Error.WriteLine(TraceCommand.Render(model, traceFormat));
        }
        return run.ExitStatus;
    }

    /// <summary>Selects the backend and makes sure the guest image is built (with progress); shared by run, bench and serve.</summary>
    public static async Task<VmTaskOptions> PrepareAsync(CliArgs a, Action<string> progress, CancellationToken ct)
    {
        var shape = new VmShape
        {
            Backend = a.Get("backend", VmShape.Auto),
            Accelerator = a.Get("accel", VmShape.Auto),
            Cpus = a.GetInt("cpus", VmShape.DefaultCpus),
            MemoryMib = a.GetInt("memory", VmShape.DefaultMemoryMib),
        };
        var options = await BootPreparation.PrepareAsync(shape, progress, ct);
        return options with { BootTimeout = TimeSpan.FromSeconds(a.GetSeconds("timeout", 30)) };
    }
}
