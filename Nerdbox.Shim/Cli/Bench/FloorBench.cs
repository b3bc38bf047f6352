using System.CommandLine;
using System.Globalization;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;
using static Nerdbox.Shim.Cli.Bench.BenchRuns;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// <c>bench floor</c>: how close a run gets to the physical floor. For each backend this host can run,
/// boots a bare VM (same VMM, kernel, accelerator, flags, CPUs, memory and kernel words; a busybox
/// /init that prints a line) and real runs, in-process and as a separate CLI process, interleaved in one
/// process (see <see cref="BenchRuns.Balanced"/>), and prints each one's median and p90 and the ratios to the floor.
/// </summary>
public static class FloorBench
{
    internal enum Kind { Floor, Run, Cli }

    private const string ReadyLine = "ready";

    public const string OrderNote = "interleaved so that each kind follows each kind, itself included, equally often (floor floor run floor cli run run cli cli, ...), after one untimed warm-up of each";

    public static Command Create()
    {
        var cli = new Option<string>("--cli")
        {
            Description = "the nerdbox-shim executable (or .dll) whose wall time is measured; default: the one running this benchmark",
            HelpName = "PATH",
        };
        var (command, count, vm) = BenchCommand.VmVerb("floor",
            "Boot a bare VM (busybox /init prints a line) and real runs, interleaved, for each backend this host can run; " +
            "print medians, p90s, and boot-to-output / floor and wall-from-CLI-start / floor.", 7, cli);
        command.SetAction((r, ct) => RunAsync(r.GetValue(count), vm.Read(r), r.GetValue(cli), ct));
        return command;
    }

    private static async Task<int> RunAsync(int count, VmRequest request, string? cliPath, CancellationToken ct)
    {
        var cli = CliWall.Resolve(cliPath);
        Console.WriteLine(BenchCommand.NoisyNote);
        var backends = BackendSelector.All().Where(b => request.Shape.Backend == VmShape.Auto || b.Name == request.Shape.Backend).ToList();
        var measured = 0;
        foreach (var backend in backends)
        {
            var check = backend.Check();
            if (!check.Usable)
            {
                Console.WriteLine($"{backend.Name}: skipped: {check.Reason}");
                continue;
            }
            if (await OneBackendAsync(count, request with { Shape = request.Shape with { Backend = backend.Name } }, cli, ct)) measured++;
        }
        if (measured > 0) return 0;
        Console.Error.WriteLine("nerdbox: no backend could be measured");
        return 1;
    }

    private static async Task<bool> OneBackendAsync(int count, VmRequest request, CliWall cli, CancellationToken ct)
    {
        var (options, bundle) = await PrepareAsync(request, ct);
        var boots = new List<Boot>();
        try
        {
            var floorInitrd = await FloorImage.EnsureAsync(Path.GetDirectoryName(options.Image.Directory)!, ct);
            // The bare VM gets the run's devices: a disk like the run's rootfs disk, or none when the run's rootfs is in its initramfs.
            var rootfs = Path.Combine(bundle, "rootfs");
            var disk = BundleRootfs.Choose(rootfs, options.Rootfs).Archive is null
                ? await RootfsDisk.BuildAsync(rootfs, Path.Combine(bundle, "floor-disk.erofs"), ct)
                : null;
            var runArgs = CliRunArgs(bundle, request, options);
            // The first boots pay for JIT and a cold page cache: one of each, untimed.
            var before = Kind.Cli;
            foreach (var kind in Enum.GetValues<Kind>())
                await OnceAsync(kind, $"warm-{kind}-{Environment.ProcessId}".ToLowerInvariant(), options, bundle, floorInitrd, disk, cli, runArgs, ct);
            foreach (var (i, kind) in Balanced(Enum.GetValues<Kind>(), count))
            {
                var (ms, anonMib, systemMs) = await OnceAsync(kind, $"floor-{Environment.ProcessId}-{i}-{kind}".ToLowerInvariant(), options, bundle, floorInitrd, disk, cli, runArgs, ct);
                var previous = before;
                before = kind;
                if (ms is null) continue;
                boots.Add(new Boot(kind, previous, Math.Round(ms.Value, 3), anonMib, systemMs));
                Console.Error.WriteLine($"{kind.ToString().ToLowerInvariant()} {i + 1}/{count}: {ms:0} ms");
            }
        }
        finally
        {
            Directory.Delete(bundle, true);
        }
        var samples = Enum.GetValues<Kind>().ToDictionary(k => k, k => boots.Where(b => b.Kind == k).Select(b => b.Ms).ToList());
        Console.Write(Report(count, BenchVm.From(options), cli, samples));
        Console.Write(MemoryAndOrder(boots));
        return samples.Values.All(s => s.Count > 0);
    }

    /// <summary>
    /// One timed boot of <paramref name="kind"/>, in ms, and where they are known its VMM's anonymous memory in MiB and system
    /// CPU time in ms; ms null when it failed (counted, left out).
    /// </summary>
    private static async Task<(double? Ms, double? AnonMib, double? SystemMs)> OnceAsync(Kind kind, string id, VmTaskOptions options, string bundle, string floorInitrd, string? disk,
        CliWall cli, IReadOnlyList<string> runArgs, CancellationToken ct)
    {
        switch (kind)
        {
            case Kind.Floor:
                try
                {
                    var floor = await FloorBoot.RunOnceAsync(id, options, floorInitrd, disk, ct);
                    return (floor.ToLine.TotalMilliseconds, floor.VmmAnonMib, floor.VmmSystemCpu?.TotalMilliseconds);
                }
                catch (VmException e)
                {
                    Failed($"bare VM {id}", e);
                    return (null, null, null);
                }
            case Kind.Run:
                var phases = (await RunOnceAsync(id, bundle, options, null, ct))?.Phases;
                return (phases?.BootToOutput?.TotalMilliseconds, phases?.VmmAnonMibAtOutput, phases?.VmmSystemCpuToOutput?.TotalMilliseconds);
            default:
                // A separate process: its VMM is not this benchmark's child, and its memory is not read.
                return ((await cli.RunOnceAsync([.. runArgs, "--id", id], ReadyLine, options.BootTimeout * 3, ct))?.TotalMilliseconds, null, null);
        }
    }

    /// <summary>The CLI's <c>run</c> with this benchmark's VM options, so that it boots the same VM.</summary>
    private static IReadOnlyList<string> CliRunArgs(string bundle, VmRequest request, VmTaskOptions options) =>
    [
        "run", bundle, "--quiet",
        "--backend", request.Shape.Backend, "--accel", request.Shape.Accelerator,
        "--cpus", options.Cpus.ToString(CultureInfo.InvariantCulture), "--memory", options.MemoryMib.ToString(CultureInfo.InvariantCulture),
        "--timeout", request.BootTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        .. options.CpuModel is { } model ? new[] { "--cpu-model", model } : [],
        "--kernel", request.Shape.Kernel,
        "--rootfs", request.Rootfs,
        .. request.KernelArgs.SelectMany(w => new[] { "--kernel-arg", w }),
    ];

    private static readonly (Kind Kind, string Name)[] Rows = [(Kind.Floor, "floor"), (Kind.Run, "boot to output"), (Kind.Cli, "wall from CLI start")];

    /// <summary>
    /// One timed boot that finished: its kind, the kind of the boot before it (a boot inherits the host's memory state from
    /// it, see the README), its time, and where they are known its VMM's anonymous memory (MiB) and system CPU time (ms).
    /// </summary>
    internal sealed record Boot(Kind Kind, Kind Before, double Ms, double? AnonMib = null, double? SystemMs = null);

    /// <summary>
    /// The floor's and the run's VMM memory and system CPU time, and each kind's median by the kind of boot before it: the
    /// run touches more memory than a bare VM, so after a bare VM part of it is memory that the host has not touched for a while.
    /// </summary>
    internal static string MemoryAndOrder(IReadOnlyList<Boot> boots)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var (name, figure) in new (string, Func<Boot, double?>)[] { (MemoryFigures.Name, b => b.AnonMib), (PhaseFigures.VmmSystemCpuToOutput + " ms", b => b.SystemMs) })
            if (MedianOf(boots, Kind.Floor, figure) is { } f && MedianOf(boots, Kind.Run, figure) is { } r)
                sb.AppendLine(FormattableString.Invariant($"{name} (median): floor {f:0.0} at its line, run {r:0.0} at its first output, run - floor {r - f:+0.0;-0.0;0.0}"));
        sb.AppendLine($"{"median ms by the boot before it",-32} {"after floor",14} {"after run",14} {"after cli",14}");
        foreach (var (kind, name) in Rows)
            sb.AppendLine($"{name,-32} " + string.Join(" ", Rows.Select(before => $"{Cell([.. boots.Where(b => b.Kind == kind && b.Before == before.Kind).Select(b => b.Ms)]),14}")));
        return sb.ToString();
    }

    private static double? MedianOf(IReadOnlyList<Boot> boots, Kind kind, Func<Boot, double?> figure) =>
        boots.Where(b => b.Kind == kind).Select(figure).OfType<double>().ToList() is { Count: > 0 } known ? Median(known) : null;

    private static string Cell(IReadOnlyList<double> samples) =>
        samples.Count == 0 ? "-" : $"{Median(samples).ToString("0", CultureInfo.InvariantCulture)} ({samples.Count})";

    private static string Report(int count, BenchVm vm, CliWall cli, Dictionary<Kind, List<double>> samples)
    {
        var floor = samples[Kind.Floor];
        var floorMedian = Median(floor);
        var floorP90 = floor.Count == 0 ? double.NaN : Percentile([.. floor.Order()], 0.9);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"bench floor: {vm}; {count} timed boot(s) of each kind, {OrderNote}");
        sb.AppendLine($"{"what",-22} {"boots",5} {"median ms",10} {"p90 ms",10} {"median/floor",13} {"p90/floor",10}");
        foreach (var (kind, name) in Rows)
        {
            var s = samples[kind];
            var (median, p90) = (Median(s), s.Count == 0 ? double.NaN : Percentile([.. s.Order()], 0.9));
            sb.AppendLine($"{name,-22} {s.Count,5} {median,10:0.0} {p90,10:0.0} {median / floorMedian,13:0.00} {p90 / floorP90,10:0.00}");
        }
        sb.AppendLine("  floor: a bare VM with the run's VMM, kernel, accelerator, VMM flags, CPUs, memory, kernel words and devices (a like disk");
        sb.AppendLine($"         when the run's rootfs comes on one), whose /init (static busybox) prints '{FloorImage.Line}' and powers off:");
        sb.AppendLine("         VMM spawn until the line is in the console log");
        sb.AppendLine("  boot to output: `run` in this process: VMM spawn until the container's first output reaches the host (the run summary's figure)");
        sb.AppendLine($"  wall from CLI start: a separate `run --quiet` process: process start until the container's line is on its stdout;");
        sb.AppendLine($"         executable: {cli.Description}");
        if (samples.Values.Any(v => v.Count < count))
            sb.AppendLine("  failed and left out (of the timed boots; the reasons are on stderr): " +
                string.Join(", ", samples.Select(kv => $"{kv.Key.ToString().ToLowerInvariant()} {count - kv.Value.Count}")));
        sb.AppendLine("  each boot (ms): " + string.Join("; ", samples.Select(kv => $"{kv.Key.ToString().ToLowerInvariant()} [{string.Join(", ", kv.Value.Select(v => v.ToString("0", CultureInfo.InvariantCulture)))}]")));
        return sb.ToString();
    }
}
