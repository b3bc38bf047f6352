using Nerdbox.Api.Contract;
using System.Diagnostics;
using System.Text.Json;
using Nerdbox.Engine.Host;
using Nerdbox.Engine.Vm.Guard;
using Nerdbox.Engine.Vm.Native;

namespace Nerdbox.Engine.Vm.Libkrun;

/// <summary>
/// One libkrun VM: a helper process (see <see cref="HelperProtocol"/>) and the VM's state directory.
/// The helper's exit is the VM's exit. The agent is reached over vsock: libkrun listens on
/// <c>STATE/agent.sock</c> and forwards each connection to the guest's vsock port. The helper runs
/// under a <see cref="GuardedVmm"/>, so that it dies with the shim, however the shim dies.
/// </summary>
internal sealed class LibkrunInstance : IVmInstance
{
    private readonly LibkrunOptions _options;
    private readonly LineTail _helperOutput = new(200);
    private readonly TaskCompletionSource _configured = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _starting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<VmExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private GuardedVmm? _vmm;
    private readonly TaskCompletionSource _eventsRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    public LibkrunInstance(VmConfig config, LibkrunOptions? options = null)
    {
        Config = config;
        _options = options ?? new LibkrunOptions();
        AgentChannel = new AgentChannelInfo("vsock", Path.Combine(config.StateDirectory, "agent.sock"), MultipleConnections: true);
    }

    public VmConfig Config { get; }
    public string Backend => "libkrun";
    public string Accelerator => "kvm";
    public AgentChannelInfo AgentChannel { get; }
    public Task<VmExit> Exited => _exited.Task;
    public int? ProcessId => _vmm is { Process.HasExited: false } v ? v.VmmPid : null;
    public VmStartTimes StartTimes { get; } = new();
    public string ConsoleLogPath => Path.Combine(Config.StateDirectory, "console.log");

    /// <summary>Completes when the helper reported <c>configured</c>.</summary>
    internal Task Configured => _configured.Task;

    public string KernelCommandLine()
    {
        var c = Config;
        List<string> words = ["console=hvc0", .. GuestKernelWords.Common, "rdinit=" + (c.InitPath ?? "/init"),
            AgentKernelArgs.VsockChannel(c.VsockPort)];
        words.AddRange(c.KernelArgs);
        if (c.InitArgs.Count > 0) words.AddRange(["--", .. c.InitArgs]);
        return string.Join(' ', words);
    }

    internal HelperConfig HelperConfig() => new()
    {
        Kernel = Config.KernelPath,
        Initrd = Config.InitrdPath,
        Cmdline = KernelCommandLine(),
        Cpus = Config.Cpus,
        MemoryMib = Config.MemoryMib,
        Disks = Config.Disks.Select(d => new HelperDisk(d.Serial, d.Path, d.ReadOnly)).ToList(),
        ConsoleLog = ConsoleLogPath,
        VsockPort = Config.VsockPort,
        AgentSocket = AgentChannel.HostEndpoint,
    };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_vmm is not null) throw new InvalidOperationException("the VM was started already");
        StateDirectories.Create(Config.StateDirectory);
        File.WriteAllText(Path.Combine(Config.StateDirectory, HelperProtocol.ConfigFile),
            JsonSerializer.Serialize(HelperConfig(), HelperJsonContext.Default.HelperConfig));
        IReadOnlyList<string> command;
        try { command = _options.HelperCommand ?? ShimProgram.Command(); }
        catch (FileNotFoundException e) { throw new VmException("cannot start the libkrun helper: " + e.Message); }
        var vmm = _vmm = new GuardedVmm(Config.StateDirectory, [.. command, HelperProtocol.Verb, "--state", Config.StateDirectory], _options.HelperEnvironment);
        var process = vmm.Process;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _helperOutput.Add(e.Data); };
        process.Exited += (_, _) => _ = CompleteExitAsync(process);
        StartTimes.SpawnedUtc = DateTime.UtcNow;
        try
        {
            vmm.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new VmException($"cannot start the libkrun helper ({command[0]}): {e.Message}");
        }
        process.BeginErrorReadLine();
        _ = ReadEventsAsync(process.StandardOutput);
        await vmm.VmmPidAsync(cancellationToken);

        await WaitAsync(_starting.Task, "start the VM", cancellationToken);

        // libkrun makes the agent socket while it builds the VM, before the guest runs.
        await WaitAsync(WaitForFileAsync(AgentChannel.HostEndpoint, cancellationToken), "set up the agent socket", cancellationToken);
        StartTimes.ReadyUtc = DateTime.UtcNow;
    }

    /// <summary>Waits for <paramref name="step"/>; fails with the helper's words when it reports an error or exits first.</summary>
    private async Task WaitAsync(Task step, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartTimeout);
        var delay = Task.Delay(Timeout.Infinite, timeout.Token);
        var first = await Task.WhenAny(step, _failed.Task, _exited.Task, delay);
        if (first == step)
        {
            await step;
            // A step may end because the helper did (the socket wait does); that is no success.
            if (!_exited.Task.IsCompleted) return;
            first = _exited.Task;
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (first == _failed.Task)
            throw new VmException($"libkrun could not {what}: {await _failed.Task}\n{ConsoleTail()}");
        if (first == _exited.Task)
        {
            // The error line, if any, comes before the end of the helper's output.
            await WaitForEventsReadAsync();
            var reason = _failed.Task.IsCompleted ? await _failed.Task : (await _exited.Task).Description;
            throw new VmException($"libkrun could not {what}: {reason}\n{ConsoleTail()}");
        }
        throw new VmException($"libkrun did not {what} within {_options.StartTimeout.TotalSeconds:0}s\n{ConsoleTail()}");
    }

    private async Task WaitForFileAsync(string path, CancellationToken cancellationToken)
    {
        while (!File.Exists(path) && !_exited.Task.IsCompleted) await Task.Delay(2, cancellationToken);
    }

    private async Task ReadEventsAsync(StreamReader stdout)
    {
        try
        {
            while (await stdout.ReadLineAsync() is { } line)
            {
                HelperEvent? e = null;
                try
                {
                    e = JsonSerializer.Deserialize(line, HelperJsonContext.Default.HelperEvent);
                }
                catch (JsonException) { }
                switch (e?.Event)
                {
                    case HelperProtocol.Configured: _configured.TrySetResult(); break;
                    case HelperProtocol.Starting: _starting.TrySetResult(); break;
                    case HelperProtocol.Error: _failed.TrySetResult(e.Message ?? "unknown error"); break;
                    default: _helperOutput.Add(line); break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        finally
        {
            _eventsRead.TrySetResult();
        }
    }

    /// <summary>The helper's last words (an error line) precede the end of its output; waits for them, briefly.</summary>
    private Task WaitForEventsReadAsync() => Task.WhenAny(_eventsRead.Task, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));

    private async Task CompleteExitAsync(Process process)
    {
        await WaitForEventsReadAsync();
        int? code = null;
        try { code = process.ExitCode; } catch (InvalidOperationException) { }
        var description = _failed.Task.IsCompleted ? $"the libkrun helper failed: {_failed.Task.Result}"
            : code is 0 or (>= 1 and <= 128) && GuestStop.FromConsole(ConsoleLogPath) is { } stop ? stop : code switch
        {
            0 => "the VM powered off",
            137 => "the libkrun helper was killed (SIGKILL)",
            143 => "the libkrun helper was terminated (SIGTERM)",
            null => "the libkrun helper exited",
            > 128 and < 160 => $"the libkrun helper was killed by signal {code - 128}",
            _ => $"the libkrun helper crashed or libkrun failed (exit code {code})",
        };
        _exited.TrySetResult(new VmExit(code, description));
    }

    public async ValueTask<Stream> ConnectAgentAsync(CancellationToken cancellationToken)
    {
        return await UnixSocketConnection.ConnectAsync(AgentChannel.HostEndpoint, cancellationToken);
    }

    public string ConsoleTail(int maxLines = 30) => ConsoleLog.Tail(ConsoleLogPath, "libkrun helper", _helperOutput.Snapshot(), maxLines);

    /// <summary>
    /// Waits <paramref name="grace"/>, then SIGTERM, then after <see cref="LibkrunOptions.TermGrace"/> lets go
    /// of the helper's guard, which kills it (as it would were the shim to die).
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        var vmm = _vmm;
        if (vmm is null) return;
        if (!_exited.Task.IsCompleted && grace > TimeSpan.Zero) await Task.WhenAny(_exited.Task, Task.Delay(grace));
        if (!_exited.Task.IsCompleted && !vmm.Process.HasExited && vmm.Signal(Libc.SIGTERM))
            await Task.WhenAny(_exited.Task, Task.Delay(_options.TermGrace));
        // As for QEMU: the guard kills the helper when the shim lets go, and does nothing after a normal exit.
        vmm.Release();
        await vmm.Process.WaitForExitAsync();
        // Exited events may lag the wait; the exit is known now.
        await CompleteExitAsync(vmm.Process);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        try
        {
            await StopAsync(TimeSpan.Zero);
        }
        finally
        {
            _vmm?.Dispose();
            StateDirectories.Remove(Config.StateDirectory);
        }
    }
}

/// <summary>How libkrun helpers are started and stopped.</summary>
public sealed record LibkrunOptions
{
    /// <summary>The program and leading arguments that run the shim (default: <see cref="ShimProgram"/>).</summary>
    public IReadOnlyList<string>? HelperCommand { get; init; }

    /// <summary>Variables added to the helper's environment.</summary>
    public IReadOnlyDictionary<string, string> HelperEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>How long the helper may take to set the VM up.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a helper has between SIGTERM and SIGKILL.</summary>
    public TimeSpan TermGrace { get; init; } = TimeSpan.FromSeconds(3);
}
