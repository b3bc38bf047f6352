using System.CommandLine;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Shim.Cli;

/// <summary>What a verb that boots VMs asks for: the VM's shape, how long the guest agent may take to answer, and extra kernel words.</summary>
public sealed record VmRequest(VmShape Shape, TimeSpan BootTimeout, IReadOnlyList<string> KernelArgs, bool KernelTrace = false, string Rootfs = RootfsVia.Auto);

/// <summary>
/// The options of every verb that boots VMs (run and the boot benchmarks). Their defaults are
/// <see cref="VmShape"/>'s and the engine's, so the help shows what a run without them gets.
/// The factories take a name so that <c>bench compare</c> can make one set per side.
/// </summary>
internal sealed class VmOptions
{
    // The engine's default; Image and Backend are required by the record but not read here.
    private static readonly TimeSpan EngineBootTimeout = new VmTaskOptions { Image = null!, Backend = null! }.BootTimeout;

    private static readonly string[] Accelerators = [VmShape.Auto, "kvm", "tcg"];

    private readonly Option<string> _backend = Backend("--backend", "VM backend");
    private readonly Option<string> _accel = Accel("--accel");
    private readonly Option<int> _cpus = Cpus("--cpus", "guest CPUs");
    private readonly Option<int> _memory = Memory("--memory", "guest memory in MiB");
    private readonly Option<string> _cpuModel = CpuModel("--cpu-model", "the guest CPU model");
    private readonly Option<string> _kernel = Kernel("--kernel", "the guest kernel");
    private readonly Option<double> _timeout = Timeout("--timeout");
    private readonly Option<string[]> _kernelArgs = KernelArgs("--kernel-arg",
        "an extra guest kernel command-line word (repeat for more); the shim's own (rdinit=, console=, nerdbox.*) are refused");
    private readonly Option<string> _rootfs = Rootfs("--rootfs", "how the bundle's rootfs reaches the guest");
    private readonly Option<bool> _kernelTrace = new("--kernel-trace")
    {
        Description = "every initcall in the guest kernel's log (initcall_debug): those of 1 ms or more become spans, the ten slowest are listed on kernel.Boot",
    };

    public static Option<string> Backend(string name, string description) =>
        CliOptions.OneOf(name, description, [VmShape.Auto, .. BackendSelector.All().Select(b => b.Name)], VmShape.Default.Backend);

    public static Option<string> Accel(string name) =>
        CliOptions.OneOf(name, "accelerator: kvm only where it is hardware-backed", Accelerators, VmShape.Default.Accelerator);

    public static Option<int> Cpus(string name, string description) => CliOptions.PositiveInt(name, "N", description, VmShape.DefaultCpus);

    public static Option<int> Memory(string name, string description) => CliOptions.PositiveInt(name, "MIB", description, VmShape.DefaultMemoryMib);

    public static Option<string> CpuModel(string name, string description) => new(name)
    {
        Description = $"{description}, QEMU's -cpu (qemu only; default: {QemuCpuModel.Kvm} under KVM, {QemuCpuModel.Tcg} under TCG)",
        HelpName = "MODEL",
        CustomParser = r => CliOptions.Checked(r, QemuCpuModel.Problem),
    };

    public static Option<string> Kernel(string name, string description) => CliOptions.OneOf(name,
        $"{description}: Debian's cloud kernel, or one built for this VM from Debian's kernel source (built once, minutes; see image build --kernel)",
        GuestKernel.All, GuestKernel.Debian);

    public static Option<string> Rootfs(string name, string description) => CliOptions.OneOf(name,
        $"{description}: in the VM's initramfs when it fits ({RootfsArchive.MaxBytes / (1024 * 1024)} MiB, {RootfsArchive.MaxEntries} entries, no device nodes), else as a read-only disk under an overlay; or either one",
        RootfsVia.All, RootfsVia.Auto);

    public static Option<double> Timeout(string name) => CliOptions.PositiveNumber(name, "SECONDS",
        "how long the guest agent may take to answer after the VMM started", EngineBootTimeout.TotalSeconds);

    public static Option<string[]> KernelArgs(string name, string description) => KernelArgWords.Option(name, description);

    public void AddTo(Command command)
    {
        command.Add(_backend);
        command.Add(_accel);
        command.Add(_cpus);
        command.Add(_memory);
        command.Add(_cpuModel);
        command.Add(_kernel);
        command.Add(_timeout);
        command.Add(_kernelArgs);
        command.Add(_rootfs);
        command.Add(_kernelTrace);
    }

    public VmRequest Read(ParseResult result) => new(
        new VmShape
        {
            Backend = result.GetRequiredValue(_backend),
            Accelerator = result.GetRequiredValue(_accel),
            Cpus = result.GetValue(_cpus),
            MemoryMib = result.GetValue(_memory),
            CpuModel = result.GetValue(_cpuModel),
            Kernel = result.GetRequiredValue(_kernel),
        },
        TimeSpan.FromSeconds(result.GetValue(_timeout)),
        result.GetValue(_kernelArgs) ?? [],
        result.GetValue(_kernelTrace),
        result.GetRequiredValue(_rootfs));

    /// <summary>Selects the backend and makes sure the guest image is built (with progress).</summary>
    public static async Task<VmTaskOptions> PrepareAsync(VmRequest request, Action<string> progress, CancellationToken ct)
    {
        var options = await BootPreparation.PrepareAsync(request.Shape, progress, ct);
        return options with { BootTimeout = request.BootTimeout, KernelArgs = request.KernelArgs, KernelTrace = request.KernelTrace, Rootfs = request.Rootfs };
    }
}
