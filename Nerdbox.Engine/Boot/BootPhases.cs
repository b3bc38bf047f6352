using Nerdbox.Engine.Vm;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// Host times (UTC) of each step from VMM spawn to the container's first output. Guest points
/// come from the guest's boot clock, placed on the host's time line by a timestamped round trip.
/// The same points feed the run summary, the benchmark and the VM start spans.
/// </summary>
public sealed class BootPhases
{
    public DateTime CreateStarted;
    public DateTime VmmSpawned;
    public DateTime VmmReady;
    public DateTime? KernelStarted;
    public DateTime? InitStarted;
    public DateTime? MountsDone;
    public DateTime? InitDone;
    public DateTime? ChannelFound;
    public DateTime? AgentListening;
    public DateTime? FirstCallHandled;
    public DateTime FirstReply;
    public DateTime TaskCreated;
    public DateTime? ContainerStarted;
    public DateTime? FirstOutput;
    public DateTime? Exited;

    /// <summary>The workload span whose end means the app is ready (<c>--ready-when</c>); null when none was asked for.</summary>
    public string? ReadyWhen;

    /// <summary>When the first workload span named <see cref="ReadyWhen"/> ended, on the host's clock.</summary>
    public DateTime? AppReady;

    /// <summary>
    /// The VMM process's CPU time (user and system, all its threads) from its spawn until the container's first
    /// output: the work of the whole boot under emulation. Wall times on a shared, loaded host stretch with
    /// the load; this figure stretches far less, so that a change shows on a busy machine too.
    /// </summary>
    public TimeSpan? VmmCpuToOutput;

    /// <summary>
    /// The part of <see cref="VmmCpuToOutput"/> spent in the host's kernel: mostly the VMM's memory first touched. On a
    /// host that hands free memory back to its hypervisor it shows whether a boot found the host's memory warm or cold.
    /// </summary>
    public TimeSpan? VmmSystemCpuToOutput;

    /// <summary>
    /// The VMM's anonymous resident memory at the container's first output, in MiB: the guest RAM and translated code the
    /// boot touched. A host that hands free memory back to its own hypervisor makes each first touch of it slow, so
    /// on such a host this figure is time too; it varies far less than times do.
    /// </summary>
    public double? VmmAnonMibAtOutput;

    /// <summary>Reads what the VMM has used so far (CPU, system CPU, memory), in one go; set once the VMM runs.</summary>
    public Func<ProcessUsage?>? VmmUsage;

    /// <summary>The first output arrived: its time and the VMM's CPU time and memory by then, once.</summary>
    public void MarkFirstOutput()
    {
        if (FirstOutput is not null) return;
        FirstOutput = DateTime.UtcNow;
        var usage = VmmUsage?.Invoke();
        (VmmCpuToOutput, VmmSystemCpuToOutput, VmmAnonMibAtOutput) = (usage?.Cpu, usage?.SystemCpu, usage?.AnonMib);
    }

    /// <summary>Half the round trip that placed the guest's points: how far off they may be.</summary>
    public TimeSpan GuestPointUncertainty;

    public record Phase(string Name, DateTime? Start, DateTime? End)
    {
        public TimeSpan? Duration => Start is { } s && End is { } e ? e - s : null;
    }

    /// <summary>The phases of the issue's breakdown, each from the end of the previous one.</summary>
    public IReadOnlyList<Phase> Phases() =>
    [
        // The VMM's own start, then the guest's entry until the kernel's clock starts: as vm.VMMStart and vm.GuestEntry.
        new("VMM start", VmmSpawned, VmmReady),
        new("guest entry", VmmReady, KernelStarted),
        new("kernel to /init", KernelStarted, InitStarted),
        new("agent ready", InitStarted, AgentListening),
        new("first RPC", AgentListening, FirstReply),
        new("container started", FirstReply, ContainerStarted),
        new("first output", ContainerStarted, FirstOutput),
    ];

    /// <summary>VMM spawn to the container's first output.</summary>
    public TimeSpan? BootToOutput => FirstOutput is { } f ? f - VmmSpawned : null;

    /// <summary>VMM spawn to the end of the first workload span named <see cref="ReadyWhen"/>: from the same origin as <see cref="BootToOutput"/>.</summary>
    public TimeSpan? BootToAppReady => AppReady is { } r ? r - VmmSpawned : null;

    /// <summary>The summary's app-ready line: its time, or that the span never came; null when none was asked for.</summary>
    public string? AppReadyLine() => ReadyWhen is not { } name ? null
        : BootToAppReady is { } ready ? $"{"boot to app ready",-20} {"",9} {ready.TotalMilliseconds,8:0}  (end of the first workload span '{name}')"
        : $"app ready: no workload span named '{name}' arrived before the run ended";

    public string Summary()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"phase",-20} {"start ms",9} {"took ms",8}");
        foreach (var p in Phases())
        {
            var at = p.Start is { } s ? $"{(s - VmmSpawned).TotalMilliseconds,9:0}" : $"{"-",9}";
            var took = p.Duration is { } d ? $"{d.TotalMilliseconds,8:0}" : $"{"-",8}";
            sb.AppendLine($"{p.Name,-20} {at} {took}");
        }
        if (BootToOutput is { } total) sb.AppendLine($"{"boot to output",-20} {"",9} {total.TotalMilliseconds,8:0}");
        if (AppReadyLine() is { } ready) sb.AppendLine(ready);
        sb.Append($"(guest points ±{GuestPointUncertainty.TotalMilliseconds:0.0} ms)");
        return sb.ToString();
    }
}
