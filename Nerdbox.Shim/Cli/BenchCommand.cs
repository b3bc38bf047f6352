using System.CommandLine;
using Nerdbox.Shim.Cli.Bench;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// <c>bench</c>: the benchmarks, apart from the tests. <c>boot</c> times boot phases, <c>compare</c> two configurations, <c>floor</c> a run against a bare VM; <c>relay</c>,
/// <c>workload</c> (a workload span's cost against an agent span's), <c>trace-overhead</c>, <c>clock</c> and <c>otlp-down</c> measure the tracing; <c>soak</c> looks for leaks over many boots through <c>serve</c>.
/// </summary>
public static class BenchCommand
{
    public const string NoisyNote = "note: shared machine (2 cores, other work running): these figures are noisy; compare within one run, not across runs";

    public static Command Create() => new("bench", "Benchmarks, apart from the tests: each prints its figures.")
    {
        BootBench.Create(),
        CompareBench.Create(),
        FloorBench.Create(),
        RelayBench.Create(),
        WorkloadRelayBench.Create(),
        TraceOverheadBench.Create(),
        ClockBench.Create(),
        OtlpDownBench.Create(),
        SoakBench.Create(),
    };

    /// <summary>A benchmark verb that boots VMs: <c>--count</c> (default <paramref name="count"/>), its own <paramref name="options"/>, then the VM options.</summary>
    internal static (Command Command, Option<int> Count, VmOptions Vm) VmVerb(string name, string description, int count, params Option[] options)
    {
        var countOption = CliOptions.PositiveInt("--count", "N", "how many boots", count);
        var vm = new VmOptions();
        var command = new Command(name, description) { countOption };
        foreach (var o in options) command.Add(o);
        vm.AddTo(command);
        return (command, countOption, vm);
    }
}
