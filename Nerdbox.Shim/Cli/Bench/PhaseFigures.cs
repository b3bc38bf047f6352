using Nerdbox.Engine.Boot;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// One boot phase across a benchmark's boots: its samples in ms in the order the boots ran (a boot
/// that did not reach the phase is left out), and their median and p90.
/// </summary>
internal sealed record PhaseFigures(string Name, IReadOnlyList<double> SamplesMs)
{
    public const string BootToOutput = "boot to output";
    public const string BootToAppReady = "boot to app ready";

    /// <summary>The VMM's CPU time until the first output (<see cref="BootPhases.VmmCpuToOutput"/>): less stretched by a loaded host.</summary>
    public const string VmmCpuToOutput = "VMM CPU to output";

    /// <summary>The host-kernel part of it (<see cref="BootPhases.VmmSystemCpuToOutput"/>): memory the VMM touched first, above all.</summary>
    public const string VmmSystemCpuToOutput = "VMM system CPU";

    /// <summary>The phases of <see cref="BootPhases.Phases"/>, then boot to output and the VMM's CPU time to it, and its kernel part: the rows of every boot benchmark.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. new BootPhases().Phases().Select(p => p.Name), BootToOutput, VmmCpuToOutput, VmmSystemCpuToOutput];

    public double? MedianMs => SamplesMs.Count == 0 ? null : BenchRuns.Median(SamplesMs);

    public double? P90Ms => SamplesMs.Count == 0 ? null : BenchRuns.Percentile([.. SamplesMs.Order()], 0.9);

    /// <summary>
    /// Every phase's figures; with <paramref name="appReady"/> (<c>--ready-when</c>) also boot to app ready, whose
    /// samples are the boots in which the span came (a boot without it is left out of that row, and counted).
    /// </summary>
    public static IReadOnlyList<PhaseFigures> From(IReadOnlyList<BootPhases> runs, bool appReady = false) =>
    [
        .. Names.Select((name, i) => Figures(name, runs.Select(r => name switch
        {
            BootToOutput => r.BootToOutput,
            VmmCpuToOutput => r.VmmCpuToOutput,
            VmmSystemCpuToOutput => r.VmmSystemCpuToOutput,
            _ => r.Phases()[i].Duration,
        }))),
        .. appReady ? new[] { Figures(BootToAppReady, runs.Select(r => r.BootToAppReady)) } : [],
    ];

    private static PhaseFigures Figures(string name, IEnumerable<TimeSpan?> durations) => new(name, [.. durations
        .Where(d => d is not null)
        // Microseconds are more than the clock placement can promise; the rest is noise in the file.
        .Select(d => Math.Round(d!.Value.TotalMilliseconds, 3))]);

    /// <summary>A note when some boots never saw the app-ready span, or null.</summary>
    public static string? AppReadyNote(IReadOnlyList<BootPhases> runs, string? readyWhen)
    {
        var missing = readyWhen is null ? 0 : runs.Count(r => r.AppReady is null);
        return missing == 0 ? null : $"  {missing} boot(s) ended without a workload span named '{readyWhen}': left out of '{BootToAppReady}'";
    }
}
