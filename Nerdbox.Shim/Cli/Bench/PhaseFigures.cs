using Nerdbox.Engine.Boot;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// One boot phase across a benchmark's boots: its samples in ms in the order the boots ran (a boot
/// that did not reach the phase is left out), and their median and p90.
/// </summary>
internal sealed record PhaseFigures(string Name, IReadOnlyList<double> SamplesMs)
{
    public const string BootToOutput = "boot to output";

    /// <summary>The VMM's CPU time until the first output (<see cref="BootPhases.VmmCpuToOutput"/>): less stretched by a loaded host.</summary>
    public const string VmmCpuToOutput = "VMM CPU to output";

    /// <summary>The phases of <see cref="BootPhases.Phases"/>, then boot to output and the VMM's CPU time to it: the rows of every boot benchmark.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. new BootPhases().Phases().Select(p => p.Name), BootToOutput, VmmCpuToOutput];

    public double? MedianMs => SamplesMs.Count == 0 ? null : BenchRuns.Median(SamplesMs);

    public double? P90Ms => SamplesMs.Count == 0 ? null : BenchRuns.Percentile([.. SamplesMs.Order()], 0.9);

    public static IReadOnlyList<PhaseFigures> From(IReadOnlyList<BootPhases> runs) =>
    [
        .. Names.Select((name, i) => new PhaseFigures(name, [.. runs
            .Select(r => name switch { BootToOutput => r.BootToOutput, VmmCpuToOutput => r.VmmCpuToOutput, _ => r.Phases()[i].Duration })
            .Where(d => d is not null)
            // Microseconds are more than the clock placement can promise; the rest is noise in the file.
            .Select(d => Math.Round(d!.Value.TotalMilliseconds, 3))])),
    ];
}
