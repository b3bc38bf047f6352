using System.Text.Json;
using System.Text.Json.Serialization;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>Where and when a benchmark ran: figures from two machines are not comparable, so each file says which it was.</summary>
internal sealed record BenchHost(DateTimeOffset Timestamp, string Machine, string? Cpu, int Processors, string Os)
{
    public static BenchHost Now() => new(DateTimeOffset.UtcNow, Environment.MachineName, CpuModel(), Environment.ProcessorCount,
        System.Runtime.InteropServices.RuntimeInformation.OSDescription);

    private static string? CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>How one configuration's VMs were made; the accelerator is the one used, not "auto".</summary>
internal sealed record BenchVm(string Backend, string? BackendReason, string Accelerator, int Cpus, int MemoryMib, IReadOnlyList<string> KernelArgs, string Image = "",
    string? CpuModel = null, string Kernel = "", string Rootfs = "")
{
    public static BenchVm From(VmTaskOptions o)
    {
        var accelerator = o.Accelerator == VmShape.Auto ? o.Backend.Check().Accelerator : o.Accelerator;
        // The model the VMM is given, named even when it is the default, so that two sides' tables say what differed.
        var cpuModel = o.CpuModel ?? (o.Backend.Name == "qemu" && accelerator.Length > 0 ? QemuCpuModel.Default(accelerator) : null);
        return new(o.Backend.Name, o.BackendReason, accelerator, o.Cpus, o.MemoryMib, o.KernelArgs,
            o.Image.InputsHash[..Math.Min(12, o.Image.InputsHash.Length)], cpuModel, o.Image.KernelPackage, o.Rootfs);
    }

    public override string ToString() =>
        $"{Backend} ({Accelerator}), {Cpus} CPU{(Cpus == 1 ? "" : "s")}{(CpuModel is null ? "" : $" ({CpuModel})")}, {MemoryMib} MiB, kernel args: {(KernelArgs.Count == 0 ? "(none)" : string.Join(' ', KernelArgs))}{(Image.Length > 0 ? ", image " + Image : "")}{(Kernel.Length > 0 ? ", kernel " + Kernel : "")}{(Rootfs.Length > 0 ? ", rootfs " + Rootfs : "")}";
}

/// <summary>One configuration's figures: its timed boots that finished, those that failed (left out), each phase, and the VMM's memory at the first output.</summary>
internal sealed record BenchSide(BenchVm Vm, int Boots, int Failed, IReadOnlyList<PhaseFigures> Phases, MemoryFigures VmmAnonMemory)
{
    public static BenchSide Of(BenchVm vm, int failed, IReadOnlyList<BootPhases> runs, bool appReady) =>
        new(vm, runs.Count, failed, PhaseFigures.From(runs, appReady), MemoryFigures.From(runs));
}

/// <summary><c>bench boot --json</c>.</summary>
internal sealed record BootBenchReport(BenchHost Host, int Count, BenchSide Result)
{
    [JsonPropertyOrder(-1)]
    public string Bench => "boot";
}

/// <summary><c>bench compare --json</c>: both sides and, per phase, B against A.</summary>
internal sealed record CompareBenchReport(BenchHost Host, int Count, BenchSide A, BenchSide B, IReadOnlyList<PhaseComparison> Comparison)
{
    [JsonPropertyOrder(-1)]
    public string Bench => "compare";
    public string Order => CompareBench.OrderNote;
    public string Test => "two-sided Mann-Whitney U on each phase's samples; delta = median of B - median of A";
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(BootBenchReport))]
[JsonSerializable(typeof(CompareBenchReport))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>Benchmark figures as a JSON file, for a CI job to read.</summary>
internal static class BenchJson
{
    public static string Serialize(BootBenchReport report) => JsonSerializer.Serialize(report, BenchJsonContext.Default.BootBenchReport);

    public static string Serialize(CompareBenchReport report) => JsonSerializer.Serialize(report, BenchJsonContext.Default.CompareBenchReport);

    public static void Write(string? path, string json)
    {
        if (path is null) return;
        File.WriteAllText(path, json + "\n");
        Console.Error.WriteLine($"nerdbox: figures written to {path}");
    }
}
