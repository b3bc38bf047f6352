using System.CommandLine;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// One side of <c>bench compare</c>: its own backend, CPUs, memory and kernel words, as
/// <c>--a-backend</c>, <c>--a-cpus</c>, ... for A and <c>--b-...</c> for B. Explicit options
/// rather than a quoted argument string, so that each value is parsed and checked like run's.
/// </summary>
internal sealed class CompareSide
{
    private readonly Option<string> _backend;
    private readonly Option<int> _cpus;
    private readonly Option<int> _memory;
    private readonly Option<string[]> _kernelArgs;

    public CompareSide(string label)
    {
        Label = label;
        var prefix = "--" + label.ToLowerInvariant() + "-";
        _backend = VmOptions.Backend(prefix + "backend", $"{label}'s VM backend");
        _cpus = VmOptions.Cpus(prefix + "cpus", $"{label}'s guest CPUs");
        _memory = VmOptions.Memory(prefix + "memory", $"{label}'s guest memory in MiB");
        _kernelArgs = VmOptions.KernelArgs(prefix + "kernel-arg", $"an extra guest kernel command-line word for {label} (repeat for more)");
    }

    /// <summary>"A" or "B".</summary>
    public string Label { get; }

    public IEnumerable<Option> Options => [_backend, _cpus, _memory, _kernelArgs];

    /// <summary>This side's request; the accelerator and the boot timeout are the same for both sides.</summary>
    public VmRequest Read(ParseResult r, string accelerator, TimeSpan bootTimeout) => new(
        new VmShape
        {
            Backend = r.GetRequiredValue(_backend),
            Accelerator = accelerator,
            Cpus = r.GetValue(_cpus),
            MemoryMib = r.GetValue(_memory),
        },
        bootTimeout,
        r.GetValue(_kernelArgs) ?? []);
}
