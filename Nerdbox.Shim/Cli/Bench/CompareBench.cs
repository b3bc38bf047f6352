using System.CommandLine;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Telemetry.Sinks;
using static Nerdbox.Shim.Cli.Bench.BenchRuns;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench compare</c>: "did my change help?". Boots configuration A and B alike N times each,
/// interleaved so that drift in the machine's load hits both, and per boot phase prints both sides'
/// figures, B − A, and a rank test's p-value, so that noise is not read as a win.
/// </summary>
public static class CompareBench
{
    public const string OrderNote = "interleaved A B, B A, A B, ... after one untimed warm-up boot of each";

    private sealed record Request(int Count, VmRequest A, VmRequest B, string? Json, string? ReadyWhen, GuestImageFiles? ImageA = null, GuestImageFiles? ImageB = null);

    /// <summary>One side's options and what its timed boots gave.</summary>
    private sealed record Side(string Label, VmTaskOptions Options, ISpanSink? Sinks)
    {
        public List<BootPhases> Runs { get; } = [];
        public int Failed { get; set; }

        public BenchSide Figures() => BenchSide.Of(BenchVm.From(Options), Failed, Runs, appReady: Options.ReadyWhen is not null);
    }

    public static Command Create()
    {
        var count = CliOptions.PositiveInt("--count", "N", "timed boots of each side", 10);
        var (a, b) = (new CompareSide("A"), new CompareSide("B"));
        var accel = VmOptions.Accel("--accel");
        var timeout = VmOptions.Timeout("--timeout");
        var json = CliOptions.OutputFile("--json",
            "also write the figures as JSON: each side's configuration and samples, medians, p90s, B-A, p-values, the machine and time");
        var readyWhen = CliOptions.ReadyWhen();
        readyWhen.Description = "both sides boot the app sample (sample --app, its spans relayed to no destination) and compare the phase \"boot to app ready\" too: the end of its first span with this name, e.g. app.Ready";
        var command = new Command("compare",
            "Boot configuration A (the --a-* options) and B (the --b-* options) N times each, interleaved after one warm-up each; " +
            "per boot phase print both sides' median and p90, B-A, and a Mann-Whitney p-value with its significance mark. " +
            "Unset options are the defaults, so e.g. --b-kernel-arg mitigations=off alone compares that word against none.")
        {
            count,
        };
        foreach (var option in a.Options.Concat(b.Options)) command.Add(option);
        command.Add(accel);
        command.Add(timeout);
        command.Add(json);
        command.Add(readyWhen);
        command.SetAction((r, ct) =>
        {
            var (accelerator, bootTimeout) = (r.GetRequiredValue(accel), TimeSpan.FromSeconds(r.GetValue(timeout)));
            return RunAsync(new Request(r.GetValue(count), a.Read(r, accelerator, bootTimeout), b.Read(r, accelerator, bootTimeout), r.GetValue(json),
                r.GetValue(readyWhen), a.Image(r), b.Image(r)), ct);
        });
        return command;
    }

    /// <summary>The side's own image, if it names one; a side that asked for the minimal kernel keeps it.</summary>
    private static VmTaskOptions WithImage(VmTaskOptions options, GuestImageFiles? image, VmRequest request) => image is null ? options : options with
    {
        Image = request.Shape.Kernel == GuestKernel.Minimal ? image with { KernelPath = options.Image.KernelPath, KernelPackage = options.Image.KernelPackage } : image,
    };

    private static async Task<int> RunAsync(Request request, CancellationToken ct)
    {
        var host = BenchHost.Now();
        var (optionsA, sinksA) = BenchRuns.ReadyWhen(WithImage(await VmOptions.PrepareAsync(request.A, l => Console.Error.WriteLine("nerdbox: A: " + l), ct), request.ImageA, request.A), request.ReadyWhen);
        var (optionsB, sinksB) = BenchRuns.ReadyWhen(WithImage(await VmOptions.PrepareAsync(request.B, l => Console.Error.WriteLine("nerdbox: B: " + l), ct), request.ImageB, request.B), request.ReadyWhen);
        var (a, b) = (new Side("A", optionsA, sinksA), new Side("B", optionsB, sinksB));
        if (request.A.Shape == request.B.Shape && request.A.KernelArgs.SequenceEqual(request.B.KernelArgs) && request.A.Rootfs == request.B.Rootfs
            && a.Options.Image == b.Options.Image)
            Console.Error.WriteLine("nerdbox: A and B are the same configuration: whatever differs is noise");
        var bundle = await BundleAsync(ct, app: request.ReadyWhen is not null);
        try
        {
            // The first boots of a process pay for JIT and a cold page cache: one of each, untimed.
            foreach (var side in new[] { a, b })
                await RunOnceAsync($"warm-{side.Label}-{Environment.ProcessId}", bundle, side.Options, side.Sinks, ct);
            foreach (var (i, side) in Alternating(a, b, request.Count))
            {
                var run = await RunOnceAsync($"compare-{Environment.ProcessId}-{i}-{side.Label}", bundle, side.Options, side.Sinks, ct);
                if (run is null)
                {
                    side.Failed++;
                    continue;
                }
                side.Runs.Add(run.Phases);
                Console.Error.WriteLine($"boot {i + 1}/{request.Count} {side.Label}: {run.Phases.BootToOutput?.TotalMilliseconds:0} ms to output");
            }
        }
        finally
        {
            Directory.Delete(bundle, true);
        }
        var (figuresA, figuresB) = (a.Figures(), b.Figures());
        var rows = PhaseComparison.Of(figuresA, figuresB);
        Console.Write(CompareTable.Render(request.Count, figuresA, figuresB, rows));
        foreach (var side in new[] { a, b })
            if (PhaseFigures.AppReadyNote(side.Runs, request.ReadyWhen) is { } note) Console.WriteLine($"{side.Label}:{note}");
        BenchJson.Write(request.Json, BenchJson.Serialize(new CompareBenchReport(host, request.Count, figuresA, figuresB, rows)));
        if (a.Runs.Count > 0 && b.Runs.Count > 0) return 0;
        Console.Error.WriteLine($"nerdbox: every timed boot of {(a.Runs.Count == 0 ? "A" : "B")} failed: nothing to compare");
        return 1;
    }
}
