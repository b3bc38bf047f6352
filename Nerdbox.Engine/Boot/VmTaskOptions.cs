using Nerdbox.Api.Contract;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Engine.Relay;

namespace Nerdbox.Engine.Boot;

/// <summary>How the shim makes the VM of a task.</summary>
public sealed record VmTaskOptions
{
    public required GuestImageFiles Image { get; init; }
    public required IVmBackend Backend { get; init; }

    /// <summary>Why <see cref="Backend"/> was chosen (from <see cref="BackendSelector"/>), for the VM span.</summary>
    public string? BackendReason { get; init; }
    public string StateRoot { get; init; } = StateDirectories.DefaultRoot;
    public int Cpus { get; init; } = VmShape.DefaultCpus;
    public int MemoryMib { get; init; } = VmShape.DefaultMemoryMib;

    /// <summary>The guest CPU model; null takes the backend's default.</summary>
    public string? CpuModel { get; init; }
    public string Accelerator { get; init; } = VmShape.Auto;

    /// <summary>How the bundle's rootfs reaches the guest (<see cref="Bundles.RootfsVia"/>): by default the initramfs when it fits, else a disk.</summary>
    public string Rootfs { get; init; } = Bundles.RootfsVia.Auto;

    /// <summary>How long the guest agent may take to answer after the VMM started.</summary>
    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long one call that makes the task (bundle, create, start, kill) may take in the guest; after the agent's first
    /// answer, the clock sync and info calls that end the boot have this long together.
    /// </summary>
    public TimeSpan TaskCallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Where the guest's spans go; null leaves them in the guest.</summary>
    public ISpanSink? GuestSpanSink { get; init; }

    /// <summary>Where the workloads' log records go (the OTLP destinations' logs endpoints); null drops and counts them.</summary>
    public ILogSink? WorkloadLogSink { get; init; }

    /// <summary>The host's OpenTelemetry environment, for the guest's resource and whether its spans leave at all.</summary>
    public HostOtelEnvironment Otel { get; init; } = HostOtelEnvironment.None;

    /// <summary>The guest's spans are relayed: a sink is given and telemetry is not disabled.</summary>
    public bool RelaysGuestSpans => GuestSpanSink is not null && !Otel.SdkDisabled;

    /// <summary>A workload span name whose first end is the app's readiness (<see cref="BootPhases.AppReady"/>); null: none.</summary>
    public string? ReadyWhen { get; init; }

    /// <summary>What the host accepts from the guest; preparation tightens it to the environment's span limits.</summary>
    public RelayBounds RelayBounds { get; init; } = RelayBounds.Default;

    /// <summary>Bounds of the guest's span buffer (<c>nerdbox.spans.max=</c>, <c>nerdbox.spans.max_bytes=</c>); null keeps the agent's defaults.</summary>
    public int? GuestSpanBufferSpans { get; init; }
    public long? GuestSpanBufferBytes { get; init; }

    /// <summary>The user's own kernel command-line words (<c>--kernel-arg</c>), one word each; the shim's own keys are refused before they get here.</summary>
    public IReadOnlyList<string> KernelArgs { get; init; } = [];

    /// <summary>The agent's settings on the kernel command line, beyond the channel the backend sets, then <see cref="KernelArgs"/>.</summary>
    public IReadOnlyList<string> GuestKernelArgs =>
    [
        .. GuestSpanBufferSpans is { } spans ? new[] { AgentKernelArgs.Word(AgentKernelArgs.SpanBufferSpans, spans) } : [],
        .. GuestSpanBufferBytes is { } bytes ? new[] { AgentKernelArgs.Word(AgentKernelArgs.SpanBufferBytes, bytes) } : [],
        // With spans wanted, the kernel log marks each initcall level's start: the kernel's boot broken down.
        .. RelaysGuestSpans ? KernelBootPhases.LevelTraceArgs : [],
        .. KernelTrace ? KernelBootPhases.InitcallDebugArgs : [],
        .. KernelArgs,
    ];

    /// <summary>Every initcall in the kernel log (<c>initcall_debug</c>); those of at least <see cref="InitcallThreshold"/> become spans.</summary>
    public bool KernelTrace { get; init; }
    public TimeSpan InitcallThreshold { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The VMM's own version line (QEMU's <c>--version</c>, the libkrun library), for the trace.</summary>
    public string? VmmVersion { get; init; }

    /// <summary>Replaces the guest's init (the agent), with arguments; for diagnosing a guest.</summary>
    public string? InitPath { get; init; }
    public IReadOnlyList<string> InitArgs { get; init; } = [];
}
