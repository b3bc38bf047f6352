namespace Nerdbox.Engine.Vm;

/// <summary>
/// The size and kind of VM asked for, and its defaults: the one place they are set. The CLI's
/// options, the service's settings, <see cref="VmConfig"/> and the libkrun helper take them from here.
/// </summary>
public sealed record VmShape
{
    public const int DefaultCpus = 1;
    public const int DefaultMemoryMib = 512;

    /// <summary>Let the host decide: see <see cref="BackendSelector"/> and <see cref="HostAccelerator"/>.</summary>
    public const string Auto = "auto";

    public static readonly VmShape Default = new();

    public int Cpus { get; init; } = DefaultCpus;
    public int MemoryMib { get; init; } = DefaultMemoryMib;

    /// <summary>The guest CPU model (QEMU's <c>-cpu</c>); null takes the backend's default (see <see cref="Qemu.QemuCpuModel"/>).</summary>
    public string? CpuModel { get; init; }

    /// <summary>Which guest kernel boots: <see cref="GuestImage.GuestKernel.Debian"/> or <see cref="GuestImage.GuestKernel.Minimal"/>.</summary>
    public string Kernel { get; init; } = GuestImage.GuestKernel.Debian;

    /// <summary>"auto", "qemu" or "libkrun".</summary>
    public string Backend { get; init; } = Auto;

    /// <summary>"auto", "kvm" or "tcg".</summary>
    public string Accelerator { get; init; } = Auto;
}
