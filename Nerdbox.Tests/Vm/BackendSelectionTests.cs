using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Libkrun;
using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Tests.Vm;

/// <summary>Backend choice, the KVM verdict behind it, and QEMU's channel arguments: nothing here boots a VM.</summary>
public sealed class BackendSelectionTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "nerdbox-tests", "hostroot-" + Guid.NewGuid().ToString("N")[..12]);

    private sealed class FakeBackend(string name, bool usable, string reason) : IVmBackend
    {
        public string Name => name;
        public BackendCheck Check() => new(usable, reason);
        public IVmInstance Create(VmConfig config) => throw new NotSupportedException();
    }

    [Fact]
    public void Explicit_libkrun_on_this_host_fails_with_the_reason()
    {
        var check = new LibkrunBackend().Check();
        if (check.Usable) Assert.Skip("libkrun can run on this host: " + check.Reason);
        var e = Assert.Throws<VmException>(() => BackendSelector.Select("libkrun"));
        Assert.Contains("VM backend 'libkrun' cannot run here", e.Message);
        Assert.Contains(check.Reason, e.Message);
        Assert.True(check.Reason.Contains("hardware KVM") || check.Reason.Contains("libkrun is not installed"), check.Reason);
    }

    [Fact]
    public void Libkrun_check_names_the_missing_kvm_first()
    {
        var kvm = HostAccelerator.Kvm();
        if (kvm.Usable) Assert.Skip("this host has hardware KVM");
        var check = new LibkrunBackend().Check();
        Assert.False(check.Usable);
        Assert.Equal("libkrun needs hardware KVM: " + kvm.Reason, check.Reason);
    }

    [Fact]
    public void Auto_on_this_host_takes_qemu_and_says_why_not_libkrun()
    {
        var libkrun = new LibkrunBackend().Check();
        if (libkrun.Usable) Assert.Skip("libkrun can run on this host: " + libkrun.Reason);
        if (!new QemuBackend().Check().Usable) Assert.Skip("QEMU is not installed here");
        var selection = BackendSelector.Select("auto");
        Assert.Equal("qemu", selection.Backend.Name);
        Assert.Contains("libkrun not usable: " + libkrun.Reason, selection.Reason);
    }

    [Fact]
    public void Auto_takes_the_first_usable_backend_and_keeps_the_reasons_of_the_others()
    {
        var selection = BackendSelector.Select("auto", [new FakeBackend("libkrun", false, "no libkrun"), new FakeBackend("qemu", true, "qemu here")]);
        Assert.Equal("qemu", selection.Backend.Name);
        Assert.Equal("qemu: qemu here (libkrun not usable: no libkrun)", selection.Reason);

        selection = BackendSelector.Select("", [new FakeBackend("libkrun", true, "libkrun here"), new FakeBackend("qemu", true, "qemu here")]);
        Assert.Equal("libkrun", selection.Backend.Name);
    }

    [Fact]
    public void Auto_with_no_usable_backend_lists_every_reason()
    {
        var e = Assert.Throws<VmException>(() => BackendSelector.Select("auto", [new FakeBackend("libkrun", false, "r1"), new FakeBackend("qemu", false, "r2")]));
        Assert.Contains("libkrun not usable: r1", e.Message);
        Assert.Contains("qemu not usable: r2", e.Message);
    }

    [Fact]
    public void Unknown_backend_is_an_error_naming_the_choices()
    {
        var e = Assert.Throws<VmException>(() => BackendSelector.Select("firecracker"));
        Assert.Contains("unknown VM backend 'firecracker'", e.Message);
        Assert.Contains("libkrun", e.Message);
        Assert.Contains("qemu", e.Message);
    }

    private string FakeRoot(string name, bool devKvm = false, string? module = null, string? cpuFlags = null)
    {
        var root = Path.Combine(_root, name);
        Directory.CreateDirectory(root);
        if (devKvm)
        {
            Directory.CreateDirectory(Path.Combine(root, "dev"));
            File.WriteAllText(Path.Combine(root, "dev", "kvm"), "");
        }
        if (module is not null) Directory.CreateDirectory(Path.Combine(root, "sys", "module", module));
        if (cpuFlags is not null)
        {
            Directory.CreateDirectory(Path.Combine(root, "proc"));
            File.WriteAllText(Path.Combine(root, "proc", "cpuinfo"), $"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {cpuFlags}\n\n");
        }
        return root;
    }

    [Fact]
    public void Kvm_verdict_without_dev_kvm()
    {
        var verdict = HostAccelerator.Kvm(FakeRoot("none", cpuFlags: "fpu vme vmx sse"));
        Assert.False(verdict.Usable);
        Assert.Contains("no /dev/kvm", verdict.Reason);
    }

    [Fact]
    public void Kvm_verdict_under_nested_pvm()
    {
        var verdict = HostAccelerator.Kvm(FakeRoot("pvm", devKvm: true, module: "kvm_pvm", cpuFlags: "fpu vme sse hypervisor"));
        Assert.False(verdict.Usable);
        Assert.Contains("nested PVM", verdict.Reason);
    }

    [Fact]
    public void Kvm_verdict_without_hardware_virtualisation()
    {
        var verdict = HostAccelerator.Kvm(FakeRoot("novirt", devKvm: true, module: "kvm", cpuFlags: "fpu vme sse"));
        Assert.False(verdict.Usable);
        Assert.Contains("not backed by hardware", verdict.Reason);
    }

    [Fact]
    public void Kvm_verdict_on_hardware_intel()
    {
        Assert.True(HostAccelerator.Kvm(FakeRoot("intel-flag", devKvm: true, cpuFlags: "fpu vme vmx sse")).Usable);
        Assert.True(HostAccelerator.Kvm(FakeRoot("intel-module", devKvm: true, module: "kvm_intel", cpuFlags: "fpu")).Usable);
    }

    private static VmConfig Config(string channel = "auto") => new()
    {
        Id = "args",
        StateDirectory = "/tmp/nerdbox-args-test",
        KernelPath = "/images/vmlinux",
        InitrdPath = "/images/initrd.cpio",
        Channel = channel,
        Disks = [new VmDisk("/tmp/rootfs.erofs", "nerdbox-rootfs")],
    };

    [Fact]
    public void Qemu_virtio_serial_arguments_are_unchanged()
    {
        var args = new QemuInstance("qemu-system-x86_64", Config(), "tcg").BuildArguments();
        var joined = string.Join(' ', args);
        Assert.Contains("-device virtio-serial-device", joined);
        Assert.Contains("-chardev socket,id=agent,path=/tmp/nerdbox-args-test/agent.sock,server=on,wait=off", joined);
        Assert.Contains($"-device virtserialport,chardev=agent,name={Nerdbox.Api.Contract.AgentChannels.VirtioSerialPortName}", joined);
        Assert.Contains("nerdbox.channel=virtio-serial:" + Nerdbox.Api.Contract.AgentChannels.VirtioSerialPortName, joined);
        Assert.DoesNotContain("vsock", joined);
    }

    [Fact]
    public void Qemu_kernel_words_skip_crypto_self_tests_and_under_tcg_address_randomisation_and_page_zeroing_on_allocation()
    {
        string Append(string accel)
        {
            var args = new QemuInstance("qemu-system-x86_64", Config(), accel).BuildArguments();
            return args[args.ToList().IndexOf("-append") + 1];
        }
        var tcg = Append("tcg").Split(' ');
        var kvm = Append("kvm").Split(' ');
        Assert.Contains("cryptomgr.notests", tcg);
        Assert.Contains("cryptomgr.notests", kvm);
        Assert.Contains("norandmaps", tcg);
        Assert.DoesNotContain("norandmaps", kvm);
        Assert.Contains("init_on_alloc=0", tcg);
        Assert.DoesNotContain("init_on_alloc=0", kvm);
    }

    [Fact]
    public void Qemu_cpu_model_is_the_host_under_kvm_without_fast_strings_under_tcg_and_as_named_when_named()
    {
        string Cpu(VmConfig config, string accel)
        {
            var args = new QemuInstance("qemu-system-x86_64", config, accel).BuildArguments().ToList();
            return args[args.IndexOf("-cpu") + 1];
        }
        Assert.Equal("host", Cpu(Config(), "kvm"));
        Assert.Equal("max,-erms,-fsrm", Cpu(Config(), "tcg"));
        Assert.Equal("Skylake-Client,-avx", Cpu(Config() with { CpuModel = "Skylake-Client,-avx" }, "tcg"));
    }

    [Fact]
    public void Libkrun_refuses_a_cpu_model_naming_it()
    {
        var e = Assert.Throws<VmException>(() => new LibkrunBackend().Create(Config("vsock") with { CpuModel = "max" }));
        Assert.Contains("'max'", e.Message);
        Assert.Contains("host's CPU", e.Message);
    }

    [Fact]
    public void Qemu_vsock_arguments_name_the_guest_cid_and_port()
    {
        var instance = new QemuInstance("qemu-system-x86_64", Config("vsock") with { VsockPort = 2048 }, "kvm", "vsock", guestCid: 42);
        var joined = string.Join(' ', instance.BuildArguments());
        Assert.Contains("-device vhost-vsock-device,guest-cid=42", joined);
        Assert.Contains("nerdbox.channel=vsock:2048", joined);
        Assert.DoesNotContain("virtio-serial", joined);
        Assert.DoesNotContain("virtserialport", joined);
        Assert.Equal(new AgentChannelInfo("vsock", "vsock:42:2048", MultipleConnections: true), instance.AgentChannel);
    }

    [Fact]
    public void Qemu_channel_choice_follows_dev_vhost_vsock()
    {
        Assert.Equal("vsock", QemuBackend.ResolveChannel("auto", hostHasVhostVsock: true));
        Assert.Equal("virtio-serial", QemuBackend.ResolveChannel("auto", hostHasVhostVsock: false));
        Assert.Equal("virtio-serial", QemuBackend.ResolveChannel("virtio-serial", hostHasVhostVsock: true));
        var e = Assert.Throws<VmException>(() => QemuBackend.ResolveChannel("vsock", hostHasVhostVsock: false));
        Assert.Contains("no /dev/vhost-vsock", e.Message);
        Assert.Throws<VmException>(() => QemuBackend.ResolveChannel("pigeon", hostHasVhostVsock: true));
    }

    [Fact]
    public void Explicit_vsock_on_a_host_without_vhost_vsock_fails_at_create()
    {
        if (HostAccelerator.HasVhostVsock()) Assert.Skip("this host has /dev/vhost-vsock");
        var qemu = new QemuBackend();
        if (!qemu.Check().Usable) Assert.Skip("QEMU is not installed here");
        var e = Assert.Throws<VmException>(() => qemu.Create(Config("vsock") with { Accelerator = "tcg" }));
        Assert.Contains("no /dev/vhost-vsock", e.Message);
    }

    [Fact]
    public void Guest_cids_are_unique_and_at_least_three()
    {
        var cids = Enumerable.Range(0, 50).Select(_ => GuestCids.Allocate()).ToList();
        try
        {
            Assert.All(cids, c => Assert.True(c >= 3));
            Assert.Equal(cids.Count, cids.Distinct().Count());
        }
        finally
        {
            cids.ForEach(GuestCids.Release);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
