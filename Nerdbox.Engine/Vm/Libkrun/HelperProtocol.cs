using Nerdbox.Api.Contract;
using System.Text.Json.Serialization;

namespace Nerdbox.Engine.Vm.Libkrun;

/// <summary>
/// How the shim talks to a libkrun helper process.
/// <para>
/// libkrun's start call takes over the calling thread and ends the process when the guest stops,
/// so each libkrun VM runs in a helper: the shim's own executable with the hidden verb
/// <c>nerdbox-shim vm-helper --state DIR</c> (the state directory on the command line also lets stale
/// helpers be recognised and reaped; see <see cref="StateDirectories.ReapStale"/>), started under a
/// <see cref="Guard.GuardedVmm"/> so that it dies with the shim.
/// </para>
/// <list type="number">
/// <item>The shim writes a <see cref="HelperConfig"/> as JSON to <c>DIR/vm-helper.json</c> (<see cref="ConfigFile"/>)
/// before it starts the helper. The helper's stdin is /dev/null (the guard holds the shim's lifeline).</item>
/// <item>The helper loads libkrun, makes a context and applies the configuration, then answers on
/// stdout, one JSON <see cref="HelperEvent"/> per line: <c>{"event":"configured"}</c>, then
/// <c>{"event":"starting"}</c> just before it calls <c>krun_start_enter</c>.</item>
/// <item>When libkrun is missing or any libkrun call fails, the helper answers
/// <c>{"event":"error","message":"..."}</c> instead and exits with a non-zero code. The same holds
/// when <c>krun_start_enter</c> returns (it only returns on a configuration error).</item>
/// <item>After <c>starting</c> the helper's stdout joins its stderr (libkrun's
/// log, kept by the shim for error reports); the guest console goes to the per-VM console log.</item>
/// <item>The helper's exit is the VM's exit: 0 when the guest powered off, 128+N when killed by signal N,
/// anything else is a crash or a libkrun failure. The shim stops a VM with SIGTERM, then by letting go
/// of its guard, which sends SIGKILL.</item>
/// </list>
/// <para>
/// Diagnostics: with <c>NERDBOX_VM_HELPER_HOLD=1</c> in its environment the helper reports
/// <c>configured</c> right after reading the configuration and then blocks, before loading libkrun
/// (tests use it to kill a helper mid-start). <c>NERDBOX_LIBKRUN</c> names the library to load
/// instead of the default <c>libkrun.so.1</c>/<c>libkrun.so</c>.
/// </para>
/// </summary>
public static class HelperProtocol
{
    public const string Verb = "vm-helper";
    public const string Configured = "configured";
    public const string Starting = "starting";
    public const string Error = "error";

    /// <summary>The helper's configuration, in its state directory.</summary>
    public const string ConfigFile = "vm-helper.json";

    /// <summary>Makes the helper stop after <c>configured</c>, before loading libkrun (diagnostics and tests only).</summary>
    public const string HoldVariable = "NERDBOX_VM_HELPER_HOLD";
}

/// <summary>What the helper needs to set up one VM.</summary>
internal sealed record HelperConfig
{
    /// <summary>The guest kernel, an uncompressed ELF.</summary>
    public required string Kernel { get; init; }
    public string? Initrd { get; init; }
    public required string Cmdline { get; init; }
    public int Cpus { get; init; } = VmShape.DefaultCpus;
    public int MemoryMib { get; init; } = VmShape.DefaultMemoryMib;
    public IReadOnlyList<HelperDisk> Disks { get; init; } = [];

    /// <summary>The file that receives the guest console.</summary>
    public required string ConsoleLog { get; init; }

    /// <summary>The guest's vsock port of the agent, and the host unix socket libkrun listens on for it.</summary>
    public uint VsockPort { get; init; } = AgentChannels.VsockPort;
    public required string AgentSocket { get; init; }
}

/// <summary>A raw disk image; <see cref="BlockId"/> becomes the guest's virtio-blk serial.</summary>
internal sealed record HelperDisk(string BlockId, string Path, bool ReadOnly);

/// <summary>One line the helper writes on stdout.</summary>
internal sealed record HelperEvent(string Event, string? Message = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HelperConfig))]
[JsonSerializable(typeof(HelperEvent))]
internal sealed partial class HelperJsonContext : JsonSerializerContext;
