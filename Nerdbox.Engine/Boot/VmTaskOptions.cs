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
    public string Accelerator { get; init; } = VmShape.Auto;

    /// <summary>How long the guest agent may take to answer after the VMM started.</summary>
    public TimeSpan BootTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the guest's spans go; null leaves them in the guest.</summary>
    public ISpanSink? GuestSpanSink { get; init; }

    public RelayBounds RelayBounds { get; init; } = RelayBounds.Default;

    /// <summary>Bounds of the guest's span buffer (<c>nerdbox.spans.max=</c>, <c>nerdbox.spans.max_bytes=</c>); null keeps the agent's defaults.</summary>
    public int? GuestSpanBufferSpans { get; init; }
    public long? GuestSpanBufferBytes { get; init; }

    /// <summary>The agent's settings on the kernel command line, beyond the channel the backend sets.</summary>
    public IReadOnlyList<string> GuestKernelArgs =>
    [
        .. GuestSpanBufferSpans is { } spans ? new[] { AgentKernelArgs.Word(AgentKernelArgs.SpanBufferSpans, spans) } : [],
        .. GuestSpanBufferBytes is { } bytes ? new[] { AgentKernelArgs.Word(AgentKernelArgs.SpanBufferBytes, bytes) } : [],
    ];

    /// <summary>Replaces the guest's init (the agent), with arguments; for diagnosing a guest.</summary>
    public string? InitPath { get; init; }
    public IReadOnlyList<string> InitArgs { get; init; } = [];
}
