using System.Text;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Vm;

/// <summary>Real VMs under QEMU (TCG here) running busybox containers through the guest agent.</summary>
[Collection(nameof(VmCollection))]
public sealed class BootTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task Busybox_bundle_prints_a_known_line_and_exits_with_the_chosen_code()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("hello", "sh", "-c", "echo nerdbox-known-line; echo to-stderr >&2; exit 7");
        await using (var task = await VmTask.CreateAsync("hello", bundle, await scratch.OptionsAsync(fixture)))
        {
            Assert.Single(scratch.VmmProcesses());
            await task.StartAsync();
            var (status, _) = await task.WaitAsync();
            Assert.Equal(7, status);
            Assert.Equal("nerdbox-known-line\n", Encoding.UTF8.GetString(task.Output.Stdout()));
            Assert.Equal("to-stderr\n", Encoding.UTF8.GetString(task.Output.Stderr()));
            Assert.True(task.AgentInfo!.Pid1);
            Assert.StartsWith("virtio-serial:", task.AgentInfo.Channel);
            await task.DeleteAsync();
        }
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task Under_TCG_the_guest_CPU_lacks_the_fast_string_features_unless_the_model_is_named()
    {
        await using var scratch = new VmScratch();
        var options = await scratch.OptionsAsync(fixture);
        if (options.Backend.Check().Accelerator != "tcg") Assert.Skip("the default CPU model without ERMS and FSRM is TCG's; this host runs KVM");
        var bundle = await scratch.BundleAsync("cpu", "sh", "-c", "grep -m1 '^flags' /proc/cpuinfo");

        async Task<string[]> GuestFlags(string id, string? model)
        {
            await using var task = await VmTask.CreateAsync(id, bundle, options with { CpuModel = model });
            await task.StartAsync();
            var (status, _) = await task.WaitAsync();
            Assert.Equal(0, status);
            var flags = Encoding.UTF8.GetString(task.Output.Stdout()).Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            await task.DeleteAsync();
            return flags;
        }

        var byDefault = await GuestFlags("cpu-default", null);
        Assert.Contains("sse4_2", byDefault);
        Assert.DoesNotContain("erms", byDefault);
        Assert.DoesNotContain("fsrm", byDefault);
        Assert.Contains("erms", await GuestFlags("cpu-max", "max"));
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task Two_VMs_boot_at_once_and_neither_sees_the_others_output()
    {
        await using var scratch = new VmScratch();
        var options = await scratch.OptionsAsync(fixture);
        var a = await scratch.BundleAsync("a", "sh", "-c", "echo from-vm-a; exit 1");
        var b = await scratch.BundleAsync("b", "sh", "-c", "echo from-vm-b; exit 2");

        async Task<(int, string)> Run(string id, string bundle)
        {
            await using var task = await VmTask.CreateAsync(id, bundle, options);
            await task.StartAsync();
            var (status, _) = await task.WaitAsync();
            var output = Encoding.UTF8.GetString(task.Output.Stdout());
            await task.DeleteAsync();
            return (status, output);
        }

        var results = await Task.WhenAll(Run("vm-a", a), Run("vm-b", b));
        Assert.Equal((1, "from-vm-a\n"), results[0]);
        Assert.Equal((2, "from-vm-b\n"), results[1]);
    }

    [Fact]
    public async Task A_VM_whose_agent_never_answers_fails_within_the_timeout_with_the_console_tail()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("silent", "true");
        var options = await scratch.OptionsAsync(fixture, bootTimeout: TimeSpan.FromSeconds(10)) with
        {
            // An init that prints and sleeps: the VM runs, but no agent ever serves.
            InitPath = "/bin/busybox",
            // The kernel splits its command line on spaces, hence ${IFS}.
            InitArgs = ["sh", "-c", "echo${IFS}no-agent-in-this-guest;/bin/busybox${IFS}sleep${IFS}600"],
        };
        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAsync<VmException>(() => VmTask.CreateAsync("silent", bundle, options));
        Assert.Contains("did not answer within 10s", e.Message);
        Assert.Contains("no-agent-in-this-guest", e.Message);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(40));
    }

    [Fact]
    public async Task Killing_the_VMM_mid_run_makes_wait_fail()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("sleeper", "sh", "-c", "echo sleeping; sleep 120");
        await using var task = await VmTask.CreateAsync("sleeper", bundle, await scratch.OptionsAsync(fixture));
        await task.StartAsync();
        var pid = task.Vm!.ProcessId ?? throw new InvalidOperationException("no VMM process");
        var wait = task.WaitAsync();
        await Task.Delay(500);
        Assert.False(wait.IsCompleted);
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        var e = await Assert.ThrowsAsync<VmException>(() => wait);
        Assert.Contains("stopped while task 'sleeper' was running", e.Message);
        Assert.Contains("killed", e.Message);
        await task.DeleteAsync();
    }
}

/// <summary>
/// Tests that boot VMs run one at a time. The AppHost is shared by the Aspire tests in it; it
/// starts only when one of them asks for it (<see cref="Aspire.AppHostFixture.StartAsync"/>).
/// </summary>
[CollectionDefinition(nameof(VmCollection))]
public sealed class VmCollection : ICollectionFixture<Aspire.AppHostFixture>;
