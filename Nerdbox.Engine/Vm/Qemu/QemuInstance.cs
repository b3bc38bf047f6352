using Nerdbox.Api.Contract;
using System.Diagnostics;
using Nerdbox.Engine.Vm.Guard;

namespace Nerdbox.Engine.Vm.Qemu;

/// <summary>
/// One QEMU microvm process and its state directory. The agent channel is a virtio-serial port
/// behind a unix socket, or vhost-vsock with its own guest CID (the host connects over AF_VSOCK).
/// QEMU runs under a <see cref="GuardedVmm"/>, so that it dies with the shim, however the shim dies.
/// </summary>
internal sealed class QemuInstance : IVmInstance
{
    private readonly string _qemu;
    private readonly string _accelerator;
    private readonly uint _guestCid;
    private readonly LineTail _vmmOutput = new(200);
    private readonly TaskCompletionSource<VmExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private GuardedVmm? _vmm;
    private int _disposed;

    /// <param name="channel">"virtio-serial" or "vsock" (resolved by <see cref="QemuBackend.ResolveChannel"/>).</param>
    /// <param name="guestCid">The guest's vsock CID (from <see cref="GuestCids"/>), for the vsock channel.</param>
    public QemuInstance(string qemu, VmConfig config, string accelerator, string channel = "virtio-serial", uint guestCid = 0)
    {
        _qemu = qemu;
        Config = config;
        _accelerator = accelerator;
        if (channel == "vsock")
        {
            if (guestCid < GuestCids.First) throw new ArgumentOutOfRangeException(nameof(guestCid), guestCid, "a guest CID is 3 or more");
            _guestCid = guestCid;
            AgentChannel = new AgentChannelInfo("vsock", $"vsock:{guestCid}:{config.VsockPort}", MultipleConnections: true);
        }
        else
        {
            AgentChannel = new AgentChannelInfo("virtio-serial", Path.Combine(config.StateDirectory, "agent.sock"), MultipleConnections: false);
        }
    }

    private bool IsVsock => AgentChannel.Kind == "vsock";

    public VmConfig Config { get; }
    public string Backend => "qemu";
    public string Accelerator => _accelerator;
    public AgentChannelInfo AgentChannel { get; }
    public Task<VmExit> Exited => _exited.Task;
    public int? ProcessId => _vmm is { Process.HasExited: false } v ? v.VmmPid : null;
    public VmStartTimes StartTimes { get; } = new();
    public string ConsoleLogPath => Path.Combine(Config.StateDirectory, "console.log");

    public IReadOnlyList<string> BuildArguments()
    {
        var c = Config;
        List<string> append = ["console=ttyS0", .. GuestKernelWords.Common, "rdinit=" + (c.InitPath ?? "/init"),
            IsVsock ? AgentKernelArgs.VsockChannel(c.VsockPort) : AgentKernelArgs.VirtioSerialChannel(AgentChannels.VirtioSerialPortName)];
        if (_accelerator == "tcg")
        {
            // Under TCG the guest's TSC is the host's. Its frequency, given, spares a calibration that can hang;
            // marked reliable, it stays the clocksource: the watchdog would otherwise swap it for 4 ms jiffies,
            // and guest timestamps (span times, the clock offset) would be off by that much.
            if (HostAccelerator.TscKhz() is { } khz) append.Add($"tsc_early_khz={khz}");
            append.Add("tsc=reliable");
            // TCG keys translated code by virtual address, so a library mapped at a new random address in every
            // process is translated anew on every exec: crun (ten shared libraries) took ~3.5x as long per exec.
            // The guest is the isolation boundary; a user who wants ASLR back adds sysctl.kernel.randomize_va_space=2.
            append.Add("norandmaps");
            // Debian's kernel zeroes every page it allocates (init_on_alloc, a hardening default); emulated, that
            // costs the guest's page cache, tmpfs and heaps a second clearing. Boot to output fell by 38 ms
            // (p = 0.004). Undo: init_on_alloc=1.
            append.Add("init_on_alloc=0");
        }
        append.AddRange(c.KernelArgs);
        if (c.InitArgs.Count > 0) append.AddRange(["--", .. c.InitArgs]);

        var args = new List<string>
        {
            "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
            "-accel", _accelerator,
            "-cpu", c.CpuModel ?? QemuCpuModel.Default(_accelerator),
            "-m", c.MemoryMib.ToString(), "-smp", c.Cpus.ToString(),
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-kernel", c.KernelPath,
            "-append", string.Join(' ', append),
            "-chardev", $"file,id=console,path={ConsoleLogPath}",
            "-serial", "chardev:console",
        };
        if (IsVsock)
        {
            args.AddRange(["-device", $"vhost-vsock-device,guest-cid={_guestCid}"]);
        }
        else
        {
            args.AddRange([
                "-device", "virtio-serial-device",
                "-chardev", $"socket,id=agent,path={AgentChannel.HostEndpoint},server=on,wait=off",
                "-device", $"virtserialport,chardev=agent,name={AgentChannels.VirtioSerialPortName}",
            ]);
        }
        if (c.InitrdPath is not null) args.AddRange(["-initrd", c.InitrdPath]);
        for (var i = 0; i < c.Disks.Count; i++)
        {
            var d = c.Disks[i];
            args.AddRange([
                "-drive", $"file={d.Path},if=none,id=disk{i},format=raw,readonly={(d.ReadOnly ? "on" : "off")}",
                "-device", $"virtio-blk-device,drive=disk{i},serial={d.Serial}",
            ]);
        }
        return args;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_vmm is not null) throw new InvalidOperationException("the VM was started already");
        StateDirectories.Create(Config.StateDirectory);
        var vmm = _vmm = new GuardedVmm(Config.StateDirectory, [_qemu, .. BuildArguments()]);
        var process = vmm.Process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _vmmOutput.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _vmmOutput.Add(e.Data); };
        process.Exited += (_, _) => OnExited(process);
        StartTimes.SpawnedUtc = DateTime.UtcNow;
        try
        {
            vmm.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new VmException($"cannot start {_qemu}: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await vmm.VmmPidAsync(cancellationToken);

        // QEMU creates the agent socket (and opens the console log) once the machine is set up and before the guest runs.
        var sw = Stopwatch.StartNew();
        while (!File.Exists(IsVsock ? ConsoleLogPath : AgentChannel.HostEndpoint))
        {
            if (_exited.Task.IsCompleted)
                throw new VmException($"QEMU exited during start-up: {(await _exited.Task).Description}\n{ConsoleTail()}");
            if (sw.Elapsed > TimeSpan.FromSeconds(20))
                throw new VmException($"QEMU did not set up the VM within 20s\n{ConsoleTail()}");
            await Task.Delay(2, cancellationToken);
        }
        StartTimes.ReadyUtc = DateTime.UtcNow;
    }


    private void OnExited(Process process)
    {
        int? code = null;
        try { code = process.ExitCode; } catch (InvalidOperationException) { }
        // QEMU ends with 0 when the guest powers off or resets (-no-reboot), panics included; its console tells which.
        var description = code == 0 && GuestStop.FromConsole(ConsoleLogPath) is { } stop ? stop : code switch
        {
            0 => "the VM powered off or rebooted",
            137 or -9 => "QEMU was killed (SIGKILL)",
            143 or -15 => "QEMU was terminated (SIGTERM)",
            null => "QEMU exited",
            _ => $"QEMU exited with code {code}",
        };
        _exited.TrySetResult(new VmExit(code, description));
    }

    public async ValueTask<Stream> ConnectAgentAsync(CancellationToken cancellationToken)
    {
        if (IsVsock) return await VsockConnection.ConnectAsync(_guestCid, Config.VsockPort, cancellationToken);
        return await UnixSocketConnection.ConnectAsync(AgentChannel.HostEndpoint, cancellationToken);
    }

    public string ConsoleTail(int maxLines = 30) => ConsoleLog.Tail(ConsoleLogPath, "qemu", _vmmOutput.Snapshot(), maxLines);

    public async Task StopAsync(TimeSpan grace)
    {
        var vmm = _vmm;
        if (vmm is null) return;
        if (!_exited.Task.IsCompleted) await Task.WhenAny(_exited.Task, Task.Delay(grace));
        // The guard kills QEMU when the shim lets go of it, as it would were the shim to die; after a
        // normal exit this does nothing, and should the guard have been killed, its watcher still acts.
        vmm.Release();
        await vmm.Process.WaitForExitAsync();
        // Exited events may lag the wait; the exit is known now.
        OnExited(vmm.Process);
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
            if (IsVsock) GuestCids.Release(_guestCid);
            StateDirectories.Remove(Config.StateDirectory);
        }
    }
}
