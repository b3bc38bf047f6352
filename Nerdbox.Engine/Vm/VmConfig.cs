using Nerdbox.Api.Contract;

namespace Nerdbox.Engine.Vm;

/// <summary>Everything about a VM that must be decided before it starts.</summary>
public sealed record VmConfig
{
    /// <summary>A short id, unique among running VMs; names the state directory.</summary>
    public required string Id { get; init; }

    /// <summary>Where the VM keeps its sockets, console log and disks; removed when the VM is disposed.</summary>
    public required string StateDirectory { get; init; }

    public int Cpus { get; init; } = VmShape.DefaultCpus;
    public int MemoryMib { get; init; } = VmShape.DefaultMemoryMib;

    /// <summary>The guest CPU model; null takes the backend's default.</summary>
    public string? CpuModel { get; init; }

    /// <summary>An uncompressed kernel (ELF with a PVH entry for QEMU's microvm).</summary>
    public required string KernelPath { get; init; }
    public string? InitrdPath { get; init; }

    /// <summary>Extra kernel command-line words (the backend adds the console and channel words).</summary>
    public IReadOnlyList<string> KernelArgs { get; init; } = [];

    /// <summary>The guest's init, default /init (the agent); with its arguments.</summary>
    public string? InitPath { get; init; }
    public IReadOnlyList<string> InitArgs { get; init; } = [];

    public IReadOnlyList<VmDisk> Disks { get; init; } = [];

    /// <summary>How the agent is reached: "auto" (vsock where the host has it, else virtio-serial), "virtio-serial" or "vsock".</summary>
    public string Channel { get; init; } = "auto";

    /// <summary>The guest's vsock port for the agent.</summary>
    public uint VsockPort { get; init; } = AgentChannels.VsockPort;

    /// <summary>"auto", "kvm" or "tcg".</summary>
    public string Accelerator { get; init; } = VmShape.Auto;
}

/// <summary>A block device for the guest, found there by its virtio serial.</summary>
public sealed record VmDisk(string Path, string Serial, bool ReadOnly = true);
