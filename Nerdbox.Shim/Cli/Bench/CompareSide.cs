using System.CommandLine;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// One side of <c>bench compare</c>: its own backend, CPUs, memory, CPU model, kernel, kernel words and rootfs delivery, as
/// <c>--a-backend</c>, <c>--a-cpus</c>, ... for A and <c>--b-...</c> for B. Explicit options
/// rather than a quoted argument string, so that each value is parsed and checked like run's.
/// </summary>
internal sealed class CompareSide
{
    private readonly Option<string> _backend;
    private readonly Option<int> _cpus;
    private readonly Option<int> _memory;
    private readonly Option<string> _cpuModel;
    private readonly Option<string> _kernel;
    private readonly Option<string[]> _kernelArgs;
    private readonly Option<string> _image;
    private readonly Option<string> _rootfs;

    public CompareSide(string label)
    {
        Label = label;
        var prefix = "--" + label.ToLowerInvariant() + "-";
        _backend = VmOptions.Backend(prefix + "backend", $"{label}'s VM backend");
        _cpus = VmOptions.Cpus(prefix + "cpus", $"{label}'s guest CPUs");
        _memory = VmOptions.Memory(prefix + "memory", $"{label}'s guest memory in MiB");
        _cpuModel = VmOptions.CpuModel(prefix + "cpu-model", $"{label}'s guest CPU model");
        _kernel = VmOptions.Kernel(prefix + "kernel", $"{label}'s guest kernel");
        _kernelArgs = VmOptions.KernelArgs(prefix + "kernel-arg", $"an extra guest kernel command-line word for {label} (repeat for more)");
        _rootfs = VmOptions.Rootfs(prefix + "rootfs", $"how the bundle's rootfs reaches {label}'s guest");
        _image = new Option<string>(prefix + "image")
        {
            Description = $"a guest image cache directory (as NERDBOX_IMAGE_DIR; a copy of one made earlier) that {label} boots as it is; default: the current image",
            HelpName = "DIR",
        };
    }

    /// <summary>"A" or "B".</summary>
    public string Label { get; }

    public IEnumerable<Option> Options => [_backend, _cpus, _memory, _cpuModel, _kernel, _kernelArgs, _rootfs, _image];

    /// <summary>This side's request; the accelerator and the boot timeout are the same for both sides.</summary>
    public VmRequest Read(ParseResult r, string accelerator, TimeSpan bootTimeout) => new(
        new VmShape
        {
            Backend = r.GetRequiredValue(_backend),
            Accelerator = accelerator,
            Cpus = r.GetValue(_cpus),
            MemoryMib = r.GetValue(_memory),
            CpuModel = r.GetValue(_cpuModel),
            Kernel = r.GetRequiredValue(_kernel),
        },
        bootTimeout,
        r.GetValue(_kernelArgs) ?? [],
        Rootfs: r.GetRequiredValue(_rootfs));

    /// <summary>The image this side boots instead of the current one, or null; a directory without a built image fails, naming it.</summary>
    public GuestImageFiles? Image(ParseResult r)
    {
        if (r.GetValue(_image) is not { } dir) return null;
        return new GuestImageBuilder(dir, _ => { }).TryLoadCached()
            ?? throw new GuestImageException($"{_image.Name}: {dir} holds no built guest image (current/manifest.json, vmlinux, initrd.cpio)");
    }
}
