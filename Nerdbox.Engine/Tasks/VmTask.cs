using Task = System.Threading.Tasks.Task;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Nerdbox.Api.Bundle.V1;
using RootfsDisk = Nerdbox.Engine.Bundles.RootfsDisk;
using Nerdbox.Api.System.V1;
using Nerdbox.Api.Task.V1;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Relay;
using Nerdbox.Engine.Vm;
using Nerdbox.Telemetry;

namespace Nerdbox.Engine.Tasks;

/// <summary>
/// One task = one VM running one container. Create loads the bundle, boots the VM (<see cref="VmBoot"/>),
/// hands the bundle to the guest and creates the container; Start, Wait, Kill follow; Delete (or
/// Dispose) shuts the VM down and removes everything it left, on every path.
/// </summary>
public sealed class VmTask : IAsyncDisposable
{
    private readonly VmTaskOptions _options;
    private readonly VmBoot _boot;
    private readonly TaskOutputPump _output;
    private int _disposed;

    private VmTask(string id, VmTaskOptions options)
    {
        Id = id;
        _options = options;
        StateDirectory = Path.Combine(options.StateRoot, id);
        _boot = new VmBoot(id, StateDirectory, options, Phases);
        _output = new TaskOutputPump(id, Output, Phases);
    }

    public string Id { get; }
    public string StateDirectory { get; }
    public string? BundlePath { get; private set; }
    public BootPhases Phases { get; } = new();
    public OutputCapture Output { get; } = new();
    public ClockEstimate Clock => _boot.Clock;
    public InfoResponse? AgentInfo => _boot.AgentInfo;
    public uint Pid { get; private set; }
    public (int Status, DateTime At)? Exit { get; private set; }
    public IVmInstance? Vm => _boot.Vm;
    public AgentClient? Agent => _boot.Agent;
    public string Backend => _boot.Backend;

    /// <summary>The relay of the guest's spans, when a sink was given.</summary>
    public GuestSpanRelay? Relay => _boot.Relay;

    public static async Task<VmTask> CreateAsync(string id, string bundlePath, VmTaskOptions options, CancellationToken ct = default)
    {
        BundleStoreIds.Validate(id);
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
        var (bundle, guestConfig, rootfs) = await ShimTracing.InSpanAsync("shim.BundleLoad", async span =>
        {
            span?.SetTag("nerdbox.bundle.path", bundlePath);
            var b = OciBundle.Load(bundlePath);
            var config = GuestConfig.Make(b.Config, span?.Context);
            span?.SetTag("nerdbox.workload.endpoint", config.Workload.Description);
            if (config.Workload.KeptFromBundle.Count > 0) span?.SetTag("nerdbox.workload.env_from_bundle", string.Join(',', config.Workload.KeptFromBundle));
            StateDirectories.Create(StateDirectory);
            var r = await BundleRootfs.PrepareAsync(b.RootfsPath, _options.Rootfs, _options.Image.InitrdPath, StateDirectory, ct);
            span?.SetTag("nerdbox.rootfs.via", r.Via);
            span?.SetTag("nerdbox.rootfs.via_reason", r.Reason);
            span?.SetTag(r.InInitramfs ? "nerdbox.rootfs.initramfs_bytes" : "nerdbox.rootfs.disk_bytes", r.Bytes);
            return (b, config, r);
        });
        BundlePath = bundle.Path;

        await ShimTracing.InSpanAsync("shim.VMBoot", async span => await _boot.StartAsync(span, rootfs, ct));
        var agent = _boot.Agent!;

        await ShimTracing.InSpanAsync("shim.BundleTransfer", async span =>
        {
            var request = new CreateBundleRequest
            {
                Id = Id,
                Rootfs = rootfs.InInitramfs ? null : new Api.Bundle.V1.RootfsDisk { Serial = RootfsDisk.Serial, Fstype = RootfsDisk.FsType },
                RootfsInInitramfs = rootfs.InInitramfs,
            };
            foreach (var (name, content) in bundle.Files) request.Files[name] = ByteString.CopyFrom(name == "config.json" ? guestConfig.Json : content);
            span?.SetTag("nerdbox.bundle.files", request.Files.Count);
            await CallAgentAsync("the bundle transfer", deadline => agent.Bundle.CreateAsync(request, deadline: deadline, cancellationToken: ct));
        });

        await ShimTracing.InSpanAsync("shim.IOSetup", async _ => await _output.AttachAsync(agent, _options.BootTimeout, ct));

        await ShimTracing.InSpanAsync("shim.TaskCreate", async span =>
        {
            var r = await CallAgentAsync("the create", deadline => agent.Task.CreateAsync(new CreateTaskRequest
            {
                Id = Id,
                BundleId = Id,
                WorkloadEndpoint = guestConfig.Workload.Endpoint,
                StartSpanId = guestConfig.StartSpanId?.ToHexString() ?? "",
            }, deadline: deadline, cancellationToken: ct));
            Pid = r.Pid;
            span?.SetTag("process.pid", (long)r.Pid);
        });
        Phases.TaskCreated = DateTime.UtcNow;
    }

    public async Task<uint> StartAsync(CancellationToken ct = default)
    {
        var agent = Agent ?? throw new InvalidOperationException($"task '{Id}' was not created");
        return await ShimTracing.InSpanAsync("shim.Start", async span =>
        {
            var r = await CallAgentAsync("the start", deadline => agent.Task.StartAsync(new StartTaskRequest { Id = Id }, deadline: deadline, cancellationToken: ct));
            Phases.ContainerStarted = DateTime.UtcNow;
            span?.SetTag("process.pid", (long)r.Pid);
            return r.Pid;
        });
    }

    /// <summary>Waits for the container to exit; fails when the VM stops first, with the console's last lines.</summary>
    public async Task<(int Status, DateTime At)> WaitAsync(CancellationToken ct = default)
    {
        if (Exit is { } known) return known;
        var agent = Agent ?? throw new InvalidOperationException($"task '{Id}' was not created");
        return await ShimTracing.InSpanAsync("shim.Wait", async span =>
        {
            var wait = agent.Task.WaitAsync(new WaitTaskRequest { Id = Id }, cancellationToken: ct).ResponseAsync;
            var vm = Vm!;
            var first = await Task.WhenAny(wait, vm.Exited);
            WaitTaskResponse r;
            try
            {
                if (first != wait) throw await VmStoppedAsync(vm);
                r = await wait;
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                // A broken channel usually means the VM is gone; say that rather than the transport error.
                if (await Task.WhenAny(vm.Exited, Task.Delay(2000, CancellationToken.None)) == vm.Exited) throw await VmStoppedAsync(vm);
                throw new VmException($"waiting for task '{Id}' failed: {e.Status.Detail}", e);
            }
            // All output is read before the exit is reported, so that callers print it whole.
            await _output.WaitForEndAsync(TimeSpan.FromSeconds(5));
            var at = r.ExitedAtUnixNano > 0 ? Clock.ToHostUtc(r.ExitedAtUnixNano) : DateTime.UtcNow;
            Phases.Exited = DateTime.UtcNow;
            Exit = (r.ExitStatus, at);
            span?.SetTag("process.exit.code", r.ExitStatus);
            return Exit.Value;
        });
    }

    private const int StoppedConsoleLines = 100;

    /// <summary>
    /// One call to the agent, bounded by <see cref="VmTaskOptions.TaskCallTimeout"/>: a guest that stops answering
    /// fails the task with the call named and the console's last lines, instead of holding it forever.
    /// </summary>
    private async Task<T> CallAgentAsync<T>(string what, Func<DateTime, AsyncUnaryCall<T>> call)
    {
        var limit = _options.TaskCallTimeout;
        try
        {
            return await call(DateTime.UtcNow + limit);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded)
        {
            throw new VmException($"the guest agent did not finish {what} of task '{Id}' within {limit.TotalSeconds:0.#} s\n{Vm?.ConsoleTail(StoppedConsoleLines)}", e);
        }
    }

    private async Task<VmException> VmStoppedAsync(IVmInstance vm)
    {
        var exit = await vm.Exited;
        // The description names a dead agent or a kernel panic when the console does (see GuestStop); the
        // tail is long enough to hold a panic's line above its stack dump.
        return new VmException($"the VM stopped while task '{Id}' was running: {exit.Description}\n{vm.ConsoleTail(StoppedConsoleLines)}");
    }

    public async Task KillAsync(uint signal, CancellationToken ct = default)
    {
        var agent = Agent ?? throw new InvalidOperationException($"task '{Id}' was not created");
        await ShimTracing.InSpanAsync("shim.Kill", async span =>
        {
            span?.SetTag("nerdbox.signal", (long)signal);
            await CallAgentAsync("the kill", deadline => agent.Task.KillAsync(new KillTaskRequest { Id = Id, Signal = signal }, deadline: deadline, cancellationToken: ct));
        });
    }

    /// <summary>Deletes the container, powers the VM off and removes its state; the task cannot be used after.</summary>
    public async Task DeleteAsync(CancellationToken ct = default)
    {
        await ShimTracing.InSpanAsync("shim.Delete", async span =>
        {
            if (Agent is { } agent && Vm is { Exited.IsCompleted: false })
            {
                try
                {
                    await agent.Task.DeleteAsync(new DeleteTaskRequest { Id = Id }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
                }
                catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
                {
                    span?.AddEvent(new ActivityEvent("task delete failed", tags: new ActivityTagsCollection { ["error"] = e.Status.Detail }));
                }
                await _boot.ShutdownAsync(span, ct);
            }
            await DisposeAsync();
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _output.Dispose();
        await _boot.DisposeAsync();
        StateDirectories.Remove(StateDirectory);
    }
}
