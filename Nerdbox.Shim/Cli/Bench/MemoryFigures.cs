using Nerdbox.Engine.Boot;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// The VMM's anonymous resident memory at each boot's first output, across a benchmark's boots, in MiB (<see cref="BootPhases.VmmAnonMibAtOutput"/>): the
/// guest RAM and translated code each boot touched by its first output. A boot whose figure could not be read is left out.
/// </summary>
internal sealed record MemoryFigures(IReadOnlyList<double> SamplesMib)
{
    public const string Name = "VMM anon MiB";

    /// <summary>Why the figure is there, for the reports that show it.</summary>
    public const string Note = Name + ": the VMM's anonymous resident memory (RssAnon) at the first output, the guest RAM and translated code the boot touched; " +
        "on a host that gives free memory back to its own hypervisor every first touch of it is slow (see the README)";

    public double? MedianMib => SamplesMib.Count == 0 ? null : BenchRuns.Median(SamplesMib);

    public double? P90Mib => SamplesMib.Count == 0 ? null : BenchRuns.Percentile([.. SamplesMib.Order()], 0.9);

    public static MemoryFigures From(IEnumerable<double?> samples) => new([.. samples.OfType<double>()]);

    public static MemoryFigures From(IReadOnlyList<BootPhases> runs) => From(runs.Select(r => r.VmmAnonMibAtOutput));
}
