using Task = System.Threading.Tasks.Task;
using System.Diagnostics;
using Grpc.Core;
using Nerdbox.Api.Contract;
using Nerdbox.Api.System.V1;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Relay;
using Nerdbox.Engine.Vm;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// One VM from VMM spawn until its agent answers on a synced clock: the VM started, the agent's
/// first reply awaited, the guest clock set, the guest's span relay started, and the guest's
/// boot-clock points placed on the host's time line. Owns the VM, the agent client and the relay
/// until disposed; <see cref="ShutdownAsync"/> powers the guest off in order.
/// </summary>
public sealed class VmBoot : IAsyncDisposable
{
    private readonly string _id;
    private readonly string _stateDirectory;
    private readonly VmTaskOptions _options;
    private IVmInstance? _vm;
    private ActivityContext _wait;
    private ActivitySpanId? _bootModules;
    private ActivitySpanId _deferredModulesParent;
    private DateTime _guestFrom;
    private int _disposed;

    public VmBoot(string id, string stateDirectory, VmTaskOptions options, BootPhases phases)
    {
        _id = id;
        _stateDirectory = stateDirectory;
        _options = options;
        Phases = phases;
    }

    public BootPhases Phases { get; }
    public IVmInstance? Vm => _vm;
    public AgentClient? Agent { get; private set; }
    public ClockEstimate Clock { get; private set; } = ClockEstimate.None;
    public InfoResponse? AgentInfo { get; private set; }

    /// <summary>The relay of the guest's spans, when the options give a sink.</summary>
    public GuestSpanRelay? Relay { get; private set; }

    public string Backend => _vm is null ? _options.Backend.Name : $"{_vm.Backend}/{_vm.Accelerator}";

    /// <summary>Boots with the bundle's <paramref name="rootfs"/> (a disk, or in the initramfs); <paramref name="bootSpan"/> gets the VM start broken down.</summary>
    public async Task StartAsync(Activity? bootSpan, BundleRootfs rootfs, CancellationToken ct)
    {
        var config = new VmConfig
        {
            Id = _id,
            StateDirectory = _stateDirectory,
            Cpus = _options.Cpus,
            MemoryMib = _options.MemoryMib,
            CpuModel = _options.CpuModel,
            KernelPath = _options.Image.KernelPath,
            InitrdPath = rootfs.InInitramfs ? rootfs.Path : _options.Image.InitrdPath,
            InitPath = _options.InitPath,
            InitArgs = _options.InitArgs,
            Accelerator = _options.Accelerator,
            Disks = rootfs.Disk is { } disk ? [new VmDisk(disk, RootfsDisk.Serial)] : [],
            KernelArgs = rootfs.InInitramfs
                ? [AgentKernelArgs.Word(AgentKernelArgs.Rootfs, AgentKernelArgs.RootfsInInitramfs), .. _options.GuestKernelArgs]
                : _options.GuestKernelArgs,
        };
        bootSpan?.SetTag("nerdbox.vm.backend", _options.Backend.Name);
        Phases.ReadyWhen = _options.ReadyWhen;
        // The VMM's own start: process spawn until it has set the machine up (its agent socket exists).
        await ShimTracing.InSpanAsync("vm.VMMStart", async span =>
        {
            _vm = _options.Backend.Create(config);
            span?.SetTag("nerdbox.vm.backend", _vm.Backend);
            if (_options.BackendReason is { } reason) span?.SetTag("nerdbox.vm.backend_reason", reason);
            span?.SetTag("nerdbox.vm.accelerator", _vm.Accelerator);
            span?.SetTag("nerdbox.vm.channel", _vm.AgentChannel.Kind);
            await _vm.StartAsync(ct);
            Phases.VmmSpawned = _vm.StartTimes.SpawnedUtc;
            Phases.VmmReady = _vm.StartTimes.ReadyUtc;
            var vmm = _vm;
            Phases.VmmUsage = () => vmm.ProcessId is { } pid ? ProcessIdentity.UsageOf(pid) : null;
        });
        var vm = _vm!;
        bootSpan?.SetTag("nerdbox.vm.accelerator", vm.Accelerator);
        var agent = Agent = new AgentClient(vm.ConnectAgentAsync);

        Activity? wait = null;
        await ShimTracing.InSpanAsync("vm.WaitForAgent", async span =>
        {
            wait = span;
            await AgentFirstReply.WaitAsync(vm, agent, _options.BootTimeout, ct);
            Phases.FirstReply = DateTime.UtcNow;
        });
        _wait = wait?.Context ?? default;
        // Guest points are placed inside the wait they explain.
        _guestFrom = wait is null ? Phases.VmmReady : Max(Phases.VmmReady, wait.StartTimeUtc);

        // The agent has answered once; a guest that stops answering now is bounded as a task call is.
        using var settle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        settle.CancelAfter(_options.TaskCallTimeout);
        try
        {
            // The clock is set before any traced call reaches the guest, so that every guest span is on one clock.
            await ShimTracing.InSpanAsync("vm.ClockSync", async span =>
            {
                Clock = await ClockSync.SyncAsync(agent.System, ClockSync.DefaultProbes, settle.Token);
                span?.SetTag("nerdbox.clock.offset_before_set_ns", Clock.OffsetBeforeSetNs);
                span?.SetTag("nerdbox.clock.offset_ns", Clock.OffsetNs);
                span?.SetTag("nerdbox.clock.uncertainty_ns", Clock.UncertaintyNs);
            });
            AgentInfo = await agent.System.InfoAsync(new InfoRequest(), cancellationToken: settle.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException && settle.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new VmException($"the guest agent answered its first call but did not finish the clock sync and info calls within {_options.TaskCallTimeout.TotalSeconds:0.#} s\n{vm.ConsoleTail()}", e);
        }
        bootSpan?.SetTag("nerdbox.agent.channel", AgentInfo.Channel);
        var ranOn = RanOn();
        TagRanOn(bootSpan, [.. ranOn, new(GuestKernelCopy, AgentInfo.KernelRelease)]);
        // Spans the guest made before now (the Info call's) wait in its buffer for the stream.
        if (_options.RelaysGuestSpans)
        {
            var resource = GuestResource.Attributes(_options.Otel, _id, AgentInfo.AgentVersion, AgentInfo.KernelRelease, ranOn);
            Relay = new GuestSpanRelay(agent.Traces, Clock, _options.GuestSpanSink!, _options.RelayBounds, Phases.VmmSpawned, resource,
                GuestResource.WorkloadAttributes(_id, ranOn), _options.WorkloadLogSink);
            if (_options.ReadyWhen is { } name) Relay.OnFirstWorkloadSpan(name, ended => Phases.AppReady ??= ended);
            Relay.Start();
        }
        PlaceGuestPoints();
        _bootModules = VmStartSpans.Record(Phases, _guestFrom, wait, Relay, bootSpan?.TraceId ?? default);
        // Modules loaded once the agent listens run beside the calls after the boot: under the boot's own parent.
        _deferredModulesParent = bootSpan is null ? default : bootSpan.ParentSpanId == default ? bootSpan.SpanId : bootSpan.ParentSpanId;
    }

    /// <summary>
    /// The guest kernel on the host's spans. Its standard key, <c>os.version</c>, is on the guest's resource;
    /// on a host span it would read as the host's own system.
    /// </summary>
    private const string GuestKernelCopy = "nerdbox.guest.kernel";

    /// <summary>What this boot ran on (accelerator, backend, VMM version, image), which no standard key names.</summary>
    private IReadOnlyList<KeyValuePair<string, string>> RanOn() =>
    [
        new("nerdbox.vm.backend", _vm!.Backend),
        new("nerdbox.vm.accelerator", _vm.Accelerator),
        new("nerdbox.vmm.version", _options.VmmVersion ?? _vm.Backend),
        new("nerdbox.image.id", _options.Image.InputsHash[..Math.Min(12, _options.Image.InputsHash.Length)]),
    ];

    /// <summary>On the boot span and on the trace's local root, so that any view of the trace shows it.</summary>
    private static void TagRanOn(Activity? bootSpan, IReadOnlyList<KeyValuePair<string, string>> ranOn)
    {
        var root = bootSpan;
        while (root?.Parent is { } parent) root = parent;
        foreach (var (key, value) in ranOn)
        {
            bootSpan?.SetTag(key, value);
            root?.SetTag(key, value);
        }
    }

    /// <summary>Puts the guest's boot-clock points on the host's time line.</summary>
    private void PlaceGuestPoints()
    {
        var t = AgentInfo?.Timeline;
        if (t is null || !Clock.IsSynced) return;
        DateTime At(ulong bootNs) => Clamp(Clock.BootClockToHostUtc(bootNs));
        Phases.KernelStarted = Clamp(Clock.GuestBootZeroUtc);
        Phases.InitStarted = At(t.InitStartedNs);
        Phases.MountsDone = At(t.MountsDoneNs);
        Phases.InitDone = At(t.InitDoneNs);
        Phases.ChannelFound = At(t.ChannelFoundNs);
        Phases.AgentListening = At(t.ListenerReadyNs);
        if (t.FirstCallNs >= t.ListenerReadyNs && t.FirstCallNs > 0) Phases.FirstCallHandled = At(t.FirstCallNs);
        Phases.GuestPointUncertainty = Clock.Uncertainty;
    }

    // A guest point cannot precede the VMM's machine set-up (the guest runs only after it) or follow the agent's
    // first reply; the estimate's error can put it there.
    private DateTime Clamp(DateTime t) => t < _guestFrom ? _guestFrom : t > Phases.FirstReply ? Phases.FirstReply : t;

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    /// <summary>
    /// Collects the guest's last spans (their counts go on <paramref name="span"/>), closes the span
    /// stream, and powers the VM off. Does nothing when the VM has stopped already.
    /// </summary>
    public async Task ShutdownAsync(Activity? span, CancellationToken ct)
    {
        if (Agent is null || _vm is not { Exited.IsCompleted: false } vm) return;
        if (Relay is { } relay)
        {
            await RecordKernelBootAsync(span, relay, ct);
            var complete = await relay.DrainAsync(TimeSpan.FromSeconds(5), ct);
            span?.SetTag("nerdbox.relay.complete", complete);
            span?.SetTag("nerdbox.relay.spans_forwarded", relay.Stats.Forwarded);
            span?.SetTag("nerdbox.relay.spans_dropped", relay.Stats.DroppedByHost);
            span?.SetTag("nerdbox.relay.values_truncated", relay.Stats.TruncatedValues);
            span?.SetTag("nerdbox.guest.spans_dropped", relay.Stats.GuestDroppedSpans);
            if (relay.Stats.Workloads is { Count: > 0 } workloads)
            {
                // The containers' own telemetry, totalled; each container's line is in the run's output.
                span?.SetTag("nerdbox.relay.workload_spans_forwarded", workloads.Sum(w => w.SpansForwarded));
                span?.SetTag("nerdbox.relay.workload_logs_forwarded", workloads.Sum(w => w.LogsForwarded));
                span?.SetTag("nerdbox.relay.workload_dropped", workloads.Sum(w => w.SpansDropped + w.LogsDropped));
                span?.SetTag("nerdbox.guest.workload_dropped", workloads.Sum(w => (long)(w.Guest.SpansDropped + w.Guest.LogsDropped)));
                span?.SetTag("nerdbox.guest.workload_rejected", workloads.Sum(w => (long)(w.Guest.RequestsRejected + w.Guest.ItemsRejected)));
            }
            // The stream is closed before power-off, so that the guest has no call left open.
            await relay.DisposeAsync();
        }
        await ShimTracing.InSpanAsync("vm.Shutdown", async _ =>
        {
            try
            {
                await Agent.System.ShutdownAsync(new ShutdownRequest(), deadline: DateTime.UtcNow.AddSeconds(3));
            }
            catch (RpcException) { /* the VM may be going down already */ }
            await vm.StopAsync(TimeSpan.FromSeconds(5));
        });
    }

    /// <summary>The kernel's boot as spans, from its log, read now that the boot is long over.</summary>
    private async Task RecordKernelBootAsync(Activity? span, GuestSpanRelay relay, CancellationToken ct)
    {
        if (_wait == default || AgentInfo is null) return;
        try
        {
            var log = await Agent!.System.KernelLogAsync(new KernelLogRequest(), deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: ct);
            if (log.ModuleLoads.Count > 0)
                span?.SetTag("nerdbox.kernel.module_spans", VmStartSpans.RecordModules(log.ModuleLoads, Phases, Clock, _wait.TraceId, _bootModules, _deferredModulesParent, relay));
            var records = KernelLog.Parse(log.Text.Span);
            var kernel = KernelBootPhases.From(records, (long)AgentInfo.Timeline.InitStartedNs, _options.InitcallThreshold);
            if (kernel is null)
            {
                span?.AddEvent(new ActivityEvent("kernel log does not reach /init", tags: new ActivityTagsCollection { ["nerdbox.kernel.log_records"] = records.Count }));
                return;
            }
            span?.SetTag("nerdbox.kernel.spans", VmStartSpans.RecordKernel(kernel, Phases, Clock, _wait.TraceId, _wait.SpanId, relay));
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            span?.AddEvent(new ActivityEvent("kernel log not read", tags: new ActivityTagsCollection { ["error"] = e.Status.Detail }));
        }
    }

    /// <summary>Stops the relay, drops the agent connection and the VM (killing it if it still runs), and removes its state.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        if (Relay is not null) await Relay.DisposeAsync();
        Agent?.Dispose();
        if (_vm is not null) await _vm.DisposeAsync();
    }
}
