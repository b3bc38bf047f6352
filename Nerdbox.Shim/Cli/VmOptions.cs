using System.CommandLine;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Shim.Cli;

/// <summary>What a verb that boots VMs asks for: the VM's shape and how long the guest agent may take to answer.</summary>
public sealed record VmRequest(VmShape Shape, TimeSpan BootTimeout);

/// <summary>
/// The options of every verb that boots VMs (run and the boot benchmarks). Their defaults are
/// <see cref="VmShape"/>'s and the engine's, so the help shows what a run without them gets.
/// </summary>
internal sealed class VmOptions
{
    // The engine's default; Image and Backend are required by the record but not read here.
    private static readonly TimeSpan EngineBootTimeout = new VmTaskOptions { Image = null!, Backend = null! }.BootTimeout;

    private static readonly string[] Accelerators = [VmShape.Auto, "kvm", "tcg"];

    private readonly Option<string> _backend = CliOptions.OneOf("--backend", "VM backend",
        [VmShape.Auto, .. BackendSelector.All().Select(b => b.Name)], VmShape.Default.Backend);

    private readonly Option<string> _accel = CliOptions.OneOf("--accel", "accelerator: kvm only where it is hardware-backed",
        Accelerators, VmShape.Default.Accelerator);

    private readonly Option<int> _cpus = CliOptions.PositiveInt("--cpus", "N", "guest CPUs", VmShape.DefaultCpus);

    private readonly Option<int> _memory = CliOptions.PositiveInt("--memory", "MIB", "guest memory in MiB", VmShape.DefaultMemoryMib);

    private readonly Option<double> _timeout = CliOptions.PositiveNumber("--timeout", "SECONDS",
        "how long the guest agent may take to answer after the VMM started", EngineBootTimeout.TotalSeconds);

    public void AddTo(Command command)
    {
        command.Add(_backend);
        command.Add(_accel);
        command.Add(_cpus);
        command.Add(_memory);
        command.Add(_timeout);
    }

    public VmRequest Read(ParseResult result) => new(
        new VmShape
        {
            Backend = result.GetRequiredValue(_backend),
            Accelerator = result.GetRequiredValue(_accel),
            Cpus = result.GetValue(_cpus),
            MemoryMib = result.GetValue(_memory),
        },
        TimeSpan.FromSeconds(result.GetValue(_timeout)));

    /// <summary>Selects the backend and makes sure the guest image is built (with progress).</summary>
    public static async Task<VmTaskOptions> PrepareAsync(VmRequest request, Action<string> progress, CancellationToken ct)
    {
        var options = await BootPreparation.PrepareAsync(request.Shape, progress, ct);
        return options with { BootTimeout = request.BootTimeout };
    }
}
