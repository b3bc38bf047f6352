namespace Nerdbox.Engine.Vm;

/// <summary>
/// A kind of VM (QEMU, libkrun). The shim asks a backend whether this host can run it, then
/// creates instances from a <see cref="VmConfig"/>; everything after that goes through
/// <see cref="IVmInstance"/>, so callers never know which backend they hold.
/// </summary>
public interface IVmBackend
{
    /// <summary>"qemu" or "libkrun".</summary>
    string Name { get; }

    /// <summary>Whether this host can run the backend now, and if not, why (no binary, no KVM, ...).</summary>
    BackendCheck Check();

    /// <summary>Makes an instance; nothing runs until <see cref="IVmInstance.StartAsync"/>.</summary>
    IVmInstance Create(VmConfig config);
}

/// <summary>The outcome of <see cref="IVmBackend.Check"/>: usable or not, the reason, and the accelerator it would use.</summary>
public sealed record BackendCheck(bool Usable, string Reason, string Accelerator = "");

/// <summary>
/// One VM. Configure through <see cref="VmConfig"/> before start; the agent channel, console and
/// exit are valid after <see cref="StartAsync"/>. Disposing stops the VMM if it still runs, reaps
/// it and removes the VM's state directory, on every path.
/// </summary>
public interface IVmInstance : IAsyncDisposable
{
    VmConfig Config { get; }

    /// <summary>The backend's name, for logs and span attributes.</summary>
    string Backend { get; }

    /// <summary>The accelerator in use ("kvm", "tcg"), after start.</summary>
    string Accelerator { get; }

    /// <summary>
    /// Starts the VMM and returns once the VM is set up and the agent channel's host end can be
    /// connected to (the guest has not necessarily booted yet). Throws, with the VMM's own words,
    /// when the VMM fails to start.
    /// </summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>What the agent channel is ("virtio-serial", "vsock") and whether it allows more than one connection.</summary>
    AgentChannelInfo AgentChannel { get; }

    /// <summary>Opens the host end of the agent channel: a byte stream to the guest agent.</summary>
    ValueTask<Stream> ConnectAgentAsync(CancellationToken cancellationToken);

    /// <summary>Completes when the VM has stopped, for any reason (power-off, crash, killed).</summary>
    Task<VmExit> Exited { get; }

    /// <summary>The VMM's process id while it runs (a helper process for libkrun).</summary>
    int? ProcessId { get; }

    /// <summary>Host times of the VMM's start-up: spawned, and ready (channel connectable).</summary>
    VmStartTimes StartTimes { get; }

    /// <summary>The per-VM console log (kernel and init output).</summary>
    string ConsoleLogPath { get; }

    /// <summary>The last lines of the console log and of the VMM's own messages, for error reports.</summary>
    string ConsoleTail(int maxLines = 30);

    /// <summary>Waits up to <paramref name="grace"/> for the VM to stop by itself, then kills it.</summary>
    Task StopAsync(TimeSpan grace);
}

public sealed record AgentChannelInfo(string Kind, string HostEndpoint, bool MultipleConnections);

public sealed record VmExit(int? ExitCode, string Description);

public sealed class VmStartTimes
{
    public DateTime SpawnedUtc { get; set; }
    public DateTime ReadyUtc { get; set; }
}
