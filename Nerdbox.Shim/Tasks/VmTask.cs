using Task = System.Threading.Tasks.Task;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Nerdbox.Api.Bundle.V1;
using Nerdbox.Api.System.V1;
using Nerdbox.Api.Task.V1;
using Nerdbox.Shim.Agent;
using Nerdbox.Shim.Bundles;
using Nerdbox.Shim.Clock;
using Nerdbox.Shim.Tracing;
using Nerdbox.Shim.Vm;

namespace Nerdbox.Shim.Tasks;

/// <summary>
/// One task = one VM running one container. Create loads the bundle, boots the VM, hands the
/// bundle to the guest and creates the container; Start, Wait, Kill follow; Delete (or Dispose)
/// shuts the VM down and removes everything it left, on every path.
/// </summary>
public sealed class VmTask : IAsyncDisposable
{
    private readonly VmTaskOptions _options;
    private readonly CancellationTokenSource _lifetime = new();
    private IVmInstance? _vm;
    private AgentClient? _agent;
    private AsyncServerStreamingCall<OutputChunk>? _outputCall;
    private Task _outputPump = Task.CompletedTask;
    private int _disposed;

    private VmTask(string id, VmTaskOptions options)
    {
        Id = id;
        _options = options;
        StateDirectory = Path.Combine(options.StateRoot, id);
    }

    public string Id { get; }
    public string StateDirectory { get; }
    public string? BundlePath { get; private set; }
    public BootPhases Phases { get; } = new();
    public OutputCapture Output { get; } = new();
    public ClockEstimate Clock { get; private set; } = ClockEstimate.None;
    public InfoResponse? AgentInfo { get; private set; }
    public uint Pid { get; private set; }
    public (int Status, DateTime At)? Exit { get; private set; }
    public IVmInstance? Vm => _vm;
    public AgentClient? Agent => _agent;
    public string Backend => _vm is null ? _options.Backend.Name : $"{_vm.Backend}/{_vm.Accelerator}";

    /// <summary>The relay of the guest's spans, when a sink was given.</summary>
    public GuestSpanRelay? Relay { get; private set; }

    public static async Task<VmTask> CreateAsync(string id, string bundlePath, VmTaskOptions options, CancellationToken ct = default)
    {
        Bundles.BundleStoreIds.Validate(id);
        var task = new VmTask(id, options);
        try
        {
            await task.CreateCoreAsync(bundlePath, ct);
            return task;
        }
        catch
        {
            await task.DisposeAsync();
            throw;
        }
    }

    private async Task CreateCoreAsync(string bundlePath, CancellationToken ct)
    {
        Phases.CreateStarted = DateTime.UtcNow;
        if (Directory.Exists(StateDirectory)) throw new VmException($"task '{Id}' exists already ({StateDirectory})");
        var (bundle, disk) = await ShimTracing.InSpanAsync("shim.BundleLoad", async span =>
        {
            span?.SetTag("nerdbox.bundle.path", bundlePath);
            var b = OciBundle.Load(bundlePath);
            Directory.CreateDirectory(StateDirectory);
            var image = await Bundles.RootfsDisk.BuildAsync(b.RootfsPath, Path.Combine(StateDirectory, "rootfs.erofs"), ct);
            span?.SetTag("nerdbox.rootfs.disk_bytes", new FileInfo(image).Length);
            return (b, image);
        });
        BundlePath = bundle.Path;

        await ShimTracing.InSpanAsync("shim.VMBoot", async span => await BootAsync(span, disk, ct));

        await ShimTracing.InSpanAsync("shim.BundleTransfer", async span =>
        {
            var request = new CreateBundleRequest
            {
                Id = Id,
                Rootfs = new Api.Bundle.V1.RootfsDisk { Serial = Bundles.RootfsDisk.Serial, Fstype = Bundles.RootfsDisk.FsType },
            };
            foreach (var (name, content) in bundle.Files) request.Files[name] = ByteString.CopyFrom(content);
            span?.SetTag("nerdbox.bundle.files", request.Files.Count);
            await _agent!.Bundle.CreateAsync(request, cancellationToken: ct);
        });

        await ShimTracing.InSpanAsync("shim.IOSetup", async _ => await AttachOutputAsync(ct));

        await ShimTracing.InSpanAsync("shim.TaskCreate", async span =>
        {
            var r = await _agent!.Task.CreateAsync(new CreateTaskRequest { Id = Id, BundleId = Id }, cancellationToken: ct);
            Pid = r.Pid;
            span?.SetTag("nerdbox.task.pid", (long)r.Pid);
        });
        Phases.TaskCreated = DateTime.UtcNow;
    }

    private async Task BootAsync(Activity? bootSpan, string disk, CancellationToken ct)
    {
        var config = new VmConfig
        {
            Id = Id,
            StateDirectory = StateDirectory,
            Cpus = _options.Cpus,
            MemoryMib = _options.MemoryMib,
            KernelPath = _options.Image.KernelPath,
            InitrdPath = _options.Image.InitrdPath,
            InitPath = _options.InitPath,
            InitArgs = _options.InitArgs,
            Accelerator = _options.Accelerator,
            Disks = [new VmDisk(disk, Bundles.RootfsDisk.Serial)],
            KernelArgs = _options.GuestKernelArgs,
        };
        bootSpan?.SetTag("nerdbox.vm.backend", _options.Backend.Name);
        await ShimTracing.InSpanAsync("vm.Start", async span =>
        {
            _vm = _options.Backend.Create(config);
            span?.SetTag("nerdbox.vm.backend", _vm.Backend);
            if (_options.BackendReason is { } reason) span?.SetTag("nerdbox.vm.backend_reason", reason);
            span?.SetTag("nerdbox.vm.accelerator", _vm.Accelerator);
            span?.SetTag("nerdbox.vm.channel", _vm.AgentChannel.Kind);
            await _vm.StartAsync(ct);
            Phases.VmmSpawned = _vm.StartTimes.SpawnedUtc;
            Phases.VmmReady = _vm.StartTimes.ReadyUtc;
        });
        bootSpan?.SetTag("nerdbox.vm.accelerator", _vm!.Accelerator);
        var agent = _agent = new AgentClient(_vm!.ConnectAgentAsync);

        await ShimTracing.InSpanAsync("vm.WaitForAgent", async _ =>
        {
            await WaitForAgentAsync(ct);
            Phases.FirstReply = DateTime.UtcNow;
        });

        // The clock is set before any traced call reaches the guest, so that every guest span is on one clock.
        await ShimTracing.InSpanAsync("vm.ClockSync", async span =>
        {
            Clock = await ClockSync.SyncAsync(agent.System, ClockSync.DefaultProbes, ct);
            span?.SetTag("nerdbox.clock.offset_before_set_ns", Clock.OffsetBeforeSetNs);
            span?.SetTag("nerdbox.clock.offset_ns", Clock.OffsetNs);
            span?.SetTag("nerdbox.clock.uncertainty_ns", Clock.UncertaintyNs);
        });
        if (_options.GuestSpanSink is { } sink)
        {
            Relay = new GuestSpanRelay(agent.Traces, Clock, sink, _options.RelayBounds, Phases.VmmSpawned,
                new Dictionary<string, string> { ["nerdbox.vm.id"] = Id, ["nerdbox.vm.backend"] = Backend });
            Relay.Start();
        }

        AgentInfo = await agent.System.InfoAsync(new InfoRequest(), cancellationToken: ct);
        bootSpan?.SetTag("nerdbox.agent.version", AgentInfo.AgentVersion);
        bootSpan?.SetTag("nerdbox.agent.channel", AgentInfo.Channel);
        bootSpan?.SetTag("nerdbox.guest.kernel", AgentInfo.KernelRelease);
        PlaceGuestPoints();
        VmStartSpans.Record(Phases, bootSpan);
    }

    /// <summary>Puts the guest's boot-clock points on the host's time line.</summary>
    private void PlaceGuestPoints()
    {
        var t = AgentInfo?.Timeline;
        if (t is null || Clock.Probes == 0) return;
        DateTime At(ulong bootNs) => Clamp(Clock.GuestBootZeroUtc.AddTicks((long)(bootNs / 100)));
        Phases.KernelStarted = Clamp(Clock.GuestBootZeroUtc);
        Phases.InitStarted = At(t.InitStartedNs);
        Phases.MountsDone = At(t.MountsDoneNs);
        Phases.InitDone = At(t.InitDoneNs);
        Phases.ChannelFound = At(t.ChannelFoundNs);
        Phases.AgentListening = At(t.ListenerReadyNs);
        Phases.GuestPointUncertainty = TimeSpan.FromTicks(Clock.UncertaintyNs / 100);
    }

    // A guest point cannot precede the VMM's spawn or follow the agent's first reply; the estimate's error can put it there.
    private DateTime Clamp(DateTime t) => t < Phases.VmmSpawned ? Phases.VmmSpawned : t > Phases.FirstReply ? Phases.FirstReply : t;

    /// <summary>The first round trip: a clock probe, which the guest answers without tracing.</summary>
    private async Task WaitForAgentAsync(CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timeout = _options.BootTimeout;
        var deadline = DateTime.UtcNow + timeout;
        var call = _agent!.System.ProbeClockAsync(new ProbeClockRequest(), deadline: deadline, cancellationToken: cts.Token);
        if (_vm!.AgentChannel.Kind == "vsock") call = await RetryWhileUnavailableAsync(call, deadline, cts.Token);
        var first = await Task.WhenAny(call.ResponseAsync, _vm!.Exited);
        if (first == _vm.Exited)
        {
            cts.Cancel();
            var exit = await _vm.Exited;
            throw new VmException($"the VM stopped before its agent answered ({exit.Description})\n{_vm.ConsoleTail()}");
        }
        try
        {
            await call.ResponseAsync;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.Unavailable)
        {
            if (ct.IsCancellationRequested) throw new OperationCanceledException(ct);
            throw new VmException($"the guest agent did not answer within {timeout.TotalSeconds:0.#}s ({e.Status.Detail})\n{_vm.ConsoleTail()}");
        }
    }

    /// <summary>
    /// A vsock channel refuses (or, through libkrun's socket, drops) connections until the guest
    /// agent listens; a virtio-serial port does not. So over vsock the first probe is repeated
    /// while it fails as unavailable and the VM runs.
    /// </summary>
    private async Task<AsyncUnaryCall<ProbeClockResponse>> RetryWhileUnavailableAsync(AsyncUnaryCall<ProbeClockResponse> call, DateTime deadline, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await call.ResponseAsync.WaitAsync(ct);
                return call;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline && !_vm!.Exited.IsCompleted)
            {
                call.Dispose();
                await Task.Delay(10, ct);
                call = _agent!.System.ProbeClockAsync(new ProbeClockRequest(), deadline: deadline, cancellationToken: ct);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                return call;
            }
        }
    }

    private async Task AttachOutputAsync(CancellationToken ct)
    {
        _outputCall = _agent!.Task.Output(new TaskOutputRequest { Id = Id }, cancellationToken: _lifetime.Token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.BootTimeout);
        try
        {
            await _outputCall.ResponseHeadersAsync.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new VmException($"the guest agent did not attach task '{Id}' output within {_options.BootTimeout.TotalSeconds:0.#}s");
        }
        var stream = _outputCall.ResponseStream;
        _outputPump = Task.Run(async () =>
        {
            try
            {
                while (await stream.MoveNext(_lifetime.Token))
                {
                    var chunk = stream.Current;
                    Phases.FirstOutput ??= DateTime.UtcNow;
                    Output.Add(chunk.Stream == OutputStream.Stderr, chunk.Data.Memory, chunk.DroppedBytes);
                }
            }
            catch (RpcException) { /* the VM went away; Wait reports it */ }
            catch (OperationCanceledException) { }
        });
    }

    public async Task<uint> StartAsync(CancellationToken ct = default)
    {
        var agent = _agent ?? throw new InvalidOperationException($"task '{Id}' was not created");
        return await ShimTracing.InSpanAsync("shim.Start", async span =>
        {
            var r = await agent.Task.StartAsync(new StartTaskRequest { Id = Id }, cancellationToken: ct);
            Phases.ContainerStarted = DateTime.UtcNow;
            span?.SetTag("nerdbox.task.pid", (long)r.Pid);
            return r.Pid;
        });
    }

    /// <summary>Waits for the container to exit; fails when the VM stops first, with the console's last lines.</summary>
    public async Task<(int Status, DateTime At)> WaitAsync(CancellationToken ct = default)
    {
        if (Exit is { } known) return known;
        var agent = _agent ?? throw new InvalidOperationException($"task '{Id}' was not created");
        return await ShimTracing.InSpanAsync("shim.Wait", async span =>
        {
            var wait = agent.Task.WaitAsync(new WaitTaskRequest { Id = Id }, cancellationToken: ct).ResponseAsync;
            var vm = _vm!;
            var first = await Task.WhenAny(wait, vm.Exited);
            WaitTaskResponse r;
            try
            {
                if (first != wait) throw await VmStoppedAsync();
                r = await wait;
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                // A broken channel usually means the VM is gone; say that rather than the transport error.
                if (await Task.WhenAny(vm.Exited, Task.Delay(2000, CancellationToken.None)) == vm.Exited) throw await VmStoppedAsync();
                throw new VmException($"waiting for task '{Id}' failed: {e.Status.Detail}", e);
            }
            // All output is read before the exit is reported, so that callers print it whole.
            await Task.WhenAny(_outputPump, Task.Delay(5000, CancellationToken.None));
            var at = r.ExitedAtUnixNano > 0 ? DateTime.UnixEpoch.AddTicks((long)(r.ExitedAtUnixNano / 100) - Clock.OffsetNs / 100) : DateTime.UtcNow;
            Phases.Exited = DateTime.UtcNow;
            Exit = (r.ExitStatus, at);
            span?.SetTag("nerdbox.task.exit_status", r.ExitStatus);
            return Exit.Value;
        });
    }

    private async Task<VmException> VmStoppedAsync()
    {
        var exit = await _vm!.Exited;
        return new VmException($"the VM stopped while task '{Id}' was running ({exit.Description})\n{_vm.ConsoleTail()}");
    }

    public async Task KillAsync(uint signal, CancellationToken ct = default)
    {
        var agent = _agent ?? throw new InvalidOperationException($"task '{Id}' was not created");
        await ShimTracing.InSpanAsync("shim.Kill", async span =>
        {
            span?.SetTag("nerdbox.signal", (long)signal);
            await agent.Task.KillAsync(new KillTaskRequest { Id = Id, Signal = signal }, cancellationToken: ct);
        });
    }

    /// <summary>Deletes the container, powers the VM off and removes its state; the task cannot be used after.</summary>
    public async Task DeleteAsync(CancellationToken ct = default)
    {
        await ShimTracing.InSpanAsync("shim.Delete", async span =>
        {
            if (_agent is not null && _vm is { Exited.IsCompleted: false })
            {
                try
                {
                    await _agent.Task.DeleteAsync(new DeleteTaskRequest { Id = Id }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
                }
                catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
                {
                    span?.AddEvent(new ActivityEvent("task delete failed", tags: new ActivityTagsCollection { ["error"] = e.Status.Detail }));
                }
                await DrainRelayAsync(span, ct);
                // The stream is closed before power-off, so that the guest has no call left open.
                if (Relay is not null) await Relay.DisposeAsync();
                await ShutdownVmAsync();
            }
            await DisposeAsync();
        });
    }

    /// <summary>Collects the guest's last spans before it powers off, and puts the relay's counts on the trace.</summary>
    private async Task DrainRelayAsync(Activity? span, CancellationToken ct)
    {
        if (Relay is null) return;
        var complete = await Relay.DrainAsync(TimeSpan.FromSeconds(5), ct);
        span?.SetTag("nerdbox.relay.complete", complete);
        span?.SetTag("nerdbox.relay.spans_forwarded", Relay.Stats.Forwarded);
        span?.SetTag("nerdbox.relay.spans_dropped", Relay.Stats.DroppedByHost);
        span?.SetTag("nerdbox.relay.values_truncated", Relay.Stats.TruncatedValues);
        span?.SetTag("nerdbox.guest.spans_dropped", Relay.Stats.GuestDroppedSpans);
    }

    private async Task ShutdownVmAsync()
    {
        await ShimTracing.InSpanAsync("vm.Shutdown", async _ =>
        {
            try
            {
                await _agent!.System.ShutdownAsync(new ShutdownRequest(), deadline: DateTime.UtcNow.AddSeconds(3));
            }
            catch (RpcException) { /* the VM may be going down already */ }
            await _vm!.StopAsync(TimeSpan.FromSeconds(5));
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _lifetime.Cancel();
        if (Relay is not null) await Relay.DisposeAsync();
        _outputCall?.Dispose();
        _agent?.Dispose();
        if (_vm is not null) await _vm.DisposeAsync();
        StateDirectories.Remove(StateDirectory);
        _lifetime.Dispose();
    }
}
