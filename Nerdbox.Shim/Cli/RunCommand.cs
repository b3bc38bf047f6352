using System.CommandLine;
using Microsoft.Extensions.Logging;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Tasks;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Telemetry.Tracing;
using Nerdbox.TraceViewer.Rendering;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>run BUNDLE</c>: boots a VM, runs the bundle's container in it, prints its output, a
/// per-phase timing summary, and exits with the container's exit code.
/// </summary>
public static class RunCommand
{
    private sealed record Request(string Bundle, string? Id, VmRequest Vm, string? TraceFormat, string? TraceFile, bool Quiet, string? ReadyWhen);

    public static Command Create()
    {
        var bundle = new Argument<string>("BUNDLE") { Description = "an OCI bundle directory (config.json and its rootfs)" };
        var id = new Option<string>("--id") { Description = "task id (default: run-<random>)", HelpName = "ID" };
        var vm = new VmOptions();
        var trace = CliOptions.OneOf("--trace",
            "print this run's trace when it ends (it also goes to OTEL_EXPORTER_OTLP_ENDPOINT and NERDBOX_OTLP_EXTRA_ENDPOINTS when set)",
            TraceRendering.Formats);
        var traceFile = new Option<string>("--trace-file")
        {
            Description = "also write the trace as OTLP JSON (read it with: trace show --source file:PATH)",
            HelpName = "PATH",
        };
        var quiet = new Option<bool>("--quiet") { Description = "no progress or summary on stderr" };
        var readyWhen = CliOptions.ReadyWhen();
        var command = new Command("run", "Boot a VM, run the bundle's container, print its output and timings, and exit with its exit code.")
        {
            bundle, id,
        };
        vm.AddTo(command);
        command.Add(trace);
        command.Add(traceFile);
        command.Add(quiet);
        command.Add(readyWhen);
        command.SetAction((r, ct) => RunAsync(new Request(r.GetRequiredValue(bundle), r.GetValue(id), vm.Read(r),
            r.GetValue(trace), r.GetValue(traceFile), r.GetValue(quiet), r.GetValue(readyWhen)), ct));
        return command;
    }

    private static async Task<int> RunAsync(Request request, CancellationToken ct)
    {
        // A bad bundle fails at once, before the host-package check and any guest image work.
        OciBundle.Load(request.Bundle);
        void Progress(string line) { if (!request.Quiet) Console.Error.WriteLine("nerdbox: " + line); }

        // The host checks and the tracing set-up do not depend on each other: one runs on another core meanwhile.
        var preparing = Task.Run(() => VmOptions.PrepareAsync(request.Vm, Progress, ct), ct);
        var id = request.Id ?? "run-" + Guid.NewGuid().ToString("N")[..8];
        using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(request.Quiet ? LogLevel.Error : LogLevel.Warning));
        await using var tracing = CliTracing.Start(loggers, request.TraceFile);
        var options = await preparing;
        Progress($"booting a VM ({options.Backend.Name}) for {request.Bundle}");
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        TaskRun.Outcome run;
        try
        {
            run = await TaskRun.RunAsync(id, request.Bundle, options with { GuestSpanSink = tracing.Sinks, WorkloadLogSink = tracing.Logs, ReadyWhen = request.ReadyWhen }, (isErr, data) =>
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
        if (!request.Quiet)
        {
            Console.Error.WriteLine(run.Phases.Summary());
            Console.Error.WriteLine($"trace {run.TraceId}" + (run.Relay is { } r ? $"; guest spans: {r}" : ""));
            foreach (var line in WorkloadLines(run.Relay)) Console.Error.WriteLine(line);
            foreach (var line in tracing.Report()) Console.Error.WriteLine("  " + line);
        }
        if (request.TraceFormat is { } format)
        {
            var model = await new TraceViewer.Sources.InMemoryOtlpSource(tracing.Memory.Snapshot()).GetAsync(run.TraceId, ct);
            Console.Error.WriteLine(TraceCommand.Render(model, format));
        }
        return run.ExitStatus;
    }

    /// <summary>A line per container that sent (or was refused) telemetry of its own, every loss named; then the log records the host dropped, by reason.</summary>
    internal static IEnumerable<string> WorkloadLines(Engine.Relay.RelayStats? relay)
    {
        if (relay is null) yield break;
        foreach (var workload in relay.Workloads.Where(w => w.HasTelemetry)) yield return "workload telemetry: " + workload;
        if (relay.LogsDroppedByReason is { Count: > 0 } logs)
            yield return "workload log records dropped by the host: " + string.Join(", ", logs.Select(kv => $"{kv.Key}: {kv.Value}"));
    }
}
