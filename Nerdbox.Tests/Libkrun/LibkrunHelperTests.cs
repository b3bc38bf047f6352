using System.Diagnostics;
using System.Text.Json;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Libkrun;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Libkrun;

/// <summary>
/// The libkrun helper process and its protocol, run for real on a host without KVM or libkrun:
/// every path up to <c>krun_start_enter</c> that does not need a VM.
/// </summary>
public sealed class LibkrunHelperTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static VmConfig Config(VmScratch scratch, string id) => new()
    {
        Id = id,
        StateDirectory = Path.Combine(scratch.StateRoot, id),
        KernelPath = "/nonexistent/vmlinux",
        InitrdPath = "/nonexistent/initrd.cpio",
        Disks = [new VmDisk("/nonexistent/rootfs.erofs", "nerdbox-rootfs")],
    };

    private static LibkrunOptions Options(params (string Key, string Value)[] env) => new()
    {
        HelperEnvironment = env.ToDictionary(e => e.Key, e => e.Value),
        StartTimeout = Patience,
    };

    [Fact]
    public async Task Helper_without_libkrun_reports_the_missing_library_and_leaves_nothing()
    {
        await using var scratch = new VmScratch();
        var missing = Path.Combine(scratch.Root, "no-such-libkrun.so.1");
        await using (var vm = new LibkrunInstance(Config(scratch, "nolib"), Options((LibkrunLibrary.LibraryVariable, missing))))
        {
            var e = await Assert.ThrowsAsync<VmException>(() => vm.StartAsync(CancellationToken.None));
            Assert.Contains($"libkrun is not installed: could not load {missing}", e.Message);
            var exit = await vm.Exited.WaitAsync(Patience);
            Assert.NotEqual(0, exit.ExitCode);
            Assert.Contains("libkrun is not installed", exit.Description);
        }
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task Helper_with_a_library_that_is_not_libkrun_names_the_missing_symbol()
    {
        await using var scratch = new VmScratch();
        await using (var vm = new LibkrunInstance(Config(scratch, "libc"), Options((LibkrunLibrary.LibraryVariable, "libc.so.6"))))
        {
            var e = await Assert.ThrowsAsync<VmException>(() => vm.StartAsync(CancellationToken.None));
            Assert.Contains("libc.so.6 has no symbol krun_create_ctx", e.Message);
        }
        scratch.AssertNothingLeft();
    }

    [Fact]
    public void Bindings_name_the_missing_library_or_symbol()
    {
        var e = Assert.Throws<LibkrunException>(() => LibkrunLibrary.Load(["/nonexistent/libkrun.so.1", "libkrun-none.so"]));
        Assert.Equal("libkrun is not installed: could not load /nonexistent/libkrun.so.1 or libkrun-none.so", e.Message);
        e = Assert.Throws<LibkrunException>(() => LibkrunLibrary.Load(["libc.so.6"]));
        Assert.Contains("has no symbol krun_create_ctx", e.Message);
        Assert.False(LibkrunLibrary.TryFind(out var reason, ["libc.so.6"]));
        Assert.Contains("krun_create_ctx", reason);
    }

    [Fact]
    public async Task Helper_killed_mid_start_ends_start_and_exit_and_is_cleaned_up()
    {
        await using var scratch = new VmScratch();
        await using (var vm = new LibkrunInstance(Config(scratch, "killed"), Options((HelperProtocol.HoldVariable, "1"))))
        {
            var start = vm.StartAsync(CancellationToken.None);
            await vm.Configured.WaitAsync(Patience);
            Assert.False(start.IsCompleted);
            var pid = vm.ProcessId ?? throw new InvalidOperationException("no helper process");
            Assert.Contains(pid, scratch.VmmProcesses());
            Assert.True(File.Exists(Path.Combine(vm.Config.StateDirectory, "vmm.pid")));

            Process.GetProcessById(pid).Kill();
            var e = await Assert.ThrowsAsync<VmException>(() => start);
            Assert.Contains("killed", e.Message);
            var exit = await vm.Exited.WaitAsync(Patience);
            Assert.Equal(137, exit.ExitCode);
            Assert.Contains("killed (SIGKILL)", exit.Description);
        }
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task Stop_terminates_a_helper_that_does_not_end_by_itself()
    {
        await using var scratch = new VmScratch();
        var options = Options((HelperProtocol.HoldVariable, "1")) with { TermGrace = TimeSpan.FromSeconds(10) };
        await using (var vm = new LibkrunInstance(Config(scratch, "stopped"), options))
        {
            var start = vm.StartAsync(CancellationToken.None);
            await vm.Configured.WaitAsync(Patience);
            await vm.StopAsync(TimeSpan.FromMilliseconds(200));
            Assert.True(vm.Exited.IsCompleted);
            // The helper ends on SIGTERM before the grace runs out: no SIGKILL needed.
            var exit = await vm.Exited;
            Assert.Equal(143, exit.ExitCode);
            Assert.Contains("terminated (SIGTERM)", exit.Description);
            await Assert.ThrowsAsync<VmException>(() => start);
            Assert.Null(vm.ProcessId);
        }
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task Dispose_during_start_reaps_the_helper_and_removes_the_state()
    {
        await using var scratch = new VmScratch();
        var vm = new LibkrunInstance(Config(scratch, "disposed"), Options((HelperProtocol.HoldVariable, "1")) with { TermGrace = TimeSpan.FromMilliseconds(500) });
        var start = vm.StartAsync(CancellationToken.None);
        await vm.Configured.WaitAsync(Patience);
        await vm.DisposeAsync();
        await Assert.ThrowsAsync<VmException>(() => start);
        Assert.True(vm.Exited.IsCompleted);
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task Cancelling_start_throws_and_dispose_still_cleans_up()
    {
        await using var scratch = new VmScratch();
        using var cts = new CancellationTokenSource();
        await using (var vm = new LibkrunInstance(Config(scratch, "cancelled"), Options((HelperProtocol.HoldVariable, "1"))))
        {
            var start = vm.StartAsync(cts.Token);
            await vm.Configured.WaitAsync(Patience);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
        }
        scratch.AssertNothingLeft();
    }

    [Fact]
    public void Instance_maps_the_agent_to_a_vsock_port_behind_the_state_socket()
    {
        var config = new VmConfig
        {
            Id = "cfg",
            StateDirectory = "/tmp/nerdbox-cfg",
            KernelPath = "/img/vmlinux",
            InitrdPath = "/img/initrd.cpio",
            Cpus = 2,
            MemoryMib = 256,
            VsockPort = 2049,
            KernelArgs = ["nerdbox.debug=1"],
            InitArgs = ["sh", "-c", "true"],
            Disks = [new VmDisk("/tmp/rootfs.erofs", "nerdbox-rootfs")],
        };
        var vm = new LibkrunInstance(config);
        Assert.Equal(new AgentChannelInfo("vsock", "/tmp/nerdbox-cfg/agent.sock", MultipleConnections: true), vm.AgentChannel);
        Assert.Equal("kvm", vm.Accelerator);
        Assert.Equal("console=hvc0 quiet loglevel=4 panic=-1 cryptomgr.notests rootfstype=ramfs rdinit=/init nerdbox.channel=vsock:2049 nerdbox.debug=1 -- sh -c true", vm.KernelCommandLine());

        var json = JsonSerializer.Serialize(vm.HelperConfig(), HelperJsonContext.Default.HelperConfig);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("/img/vmlinux", root.GetProperty("kernel").GetString());
        Assert.Equal("/img/initrd.cpio", root.GetProperty("initrd").GetString());
        Assert.Equal(2, root.GetProperty("cpus").GetInt32());
        Assert.Equal(256, root.GetProperty("memoryMib").GetInt32());
        Assert.Equal(2049u, root.GetProperty("vsockPort").GetUInt32());
        Assert.Equal("/tmp/nerdbox-cfg/agent.sock", root.GetProperty("agentSocket").GetString());
        Assert.Equal("/tmp/nerdbox-cfg/console.log", root.GetProperty("consoleLog").GetString());
        var disk = Assert.Single(root.GetProperty("disks").EnumerateArray());
        Assert.Equal("nerdbox-rootfs", disk.GetProperty("blockId").GetString());
        Assert.True(disk.GetProperty("readOnly").GetBoolean());
        var back = JsonSerializer.Deserialize(json, HelperJsonContext.Default.HelperConfig)!;
        Assert.Equal(vm.KernelCommandLine(), back.Cmdline);
        Assert.Equal(new HelperDisk("nerdbox-rootfs", "/tmp/rootfs.erofs", true), Assert.Single(back.Disks));
    }

    [Fact]
    public void Backend_refuses_to_create_where_it_cannot_run_and_refuses_other_channels()
    {
        var backend = new LibkrunBackend();
        var check = backend.Check();
        var config = new VmConfig { Id = "x", StateDirectory = "/tmp/nerdbox-x", KernelPath = "/k" };
        if (!check.Usable)
        {
            var e = Assert.Throws<VmException>(() => backend.Create(config));
            Assert.Equal(check.Reason, e.Message);
        }
        else
        {
            Assert.Throws<VmException>(() => backend.Create(config with { Channel = "virtio-serial" }));
            Assert.Throws<VmException>(() => backend.Create(config with { Accelerator = "tcg" }));
        }
    }
}
