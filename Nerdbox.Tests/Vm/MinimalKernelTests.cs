using System.Text;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Tasks;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Tests.Vm;

/// <summary>
/// The guest kernel made for this VM, built from Debian's kernel source (minutes the first time on a machine, then
/// cached), boots the same image and runs a container, and its boot is traced like the Debian kernel's.
/// </summary>
[Collection(nameof(VmCollection))]
public sealed class MinimalKernelTests(GuestImageFixture fixture)
{
    [Fact]
    public void A_config_line_the_kernel_dropped_is_named()
    {
        const string fragment = "# a comment\nCONFIG_A=y\nCONFIG_B=n\nCONFIG_C=64\nCONFIG_D=n\nCONFIG_E=y\n";
        const string config = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=32\nCONFIG_D=y\n";
        Assert.Equal(["CONFIG_C=64", "CONFIG_D=n", "CONFIG_E=y"], MinimalKernel.Dropped(fragment, config));
    }

    [Fact]
    public async Task A_container_runs_on_the_minimal_kernel_without_modules_and_its_boot_is_traced()
    {
        var image = await fixture.ImageAsync();
        var kernel = await new MinimalKernel(GuestImageBuilder.DefaultCacheDirectory, l => Console.Error.WriteLine("minimal kernel: " + l))
            .EnsureAsync(TestContext.Current.CancellationToken);
        await using var scratch = new VmScratch();
        await using var traced = await TracedRun.StartAsync();
        var bundle = await scratch.BundleAsync("minimal", "sh", "-c", "uname -v; test -e /proc/modules || echo no-module-support");
        var options = scratch.Options(image with { KernelPath = kernel }, TimeSpan.FromSeconds(60)) with { GuestSpanSink = traced.Sinks };

        var run = await TaskRun.RunAsync("minimal-kernel", bundle, options);
        Assert.Equal(0, run.ExitStatus);
        var output = Encoding.UTF8.GetString(run.Stdout);
        // Debian's kernel names itself in its version ("#1 SMP PREEMPT_DYNAMIC Debian 6.1..."); this one was built here.
        Assert.DoesNotContain("Debian", output);
        Assert.Contains("no-module-support", output);

        await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "kernel.Boot") && s.Any(x => x.Span.Name == "shim.Run"));
        var trace = await new InMemoryOtlpSource(traced.Receiver.Batches).GetAsync(run.TraceId, default);
        var kernelBoot = Assert.Single(trace.Spans, s => s.Name == "kernel.Boot");
        Assert.Contains(kernelBoot.Children, c => c.Name == "kernel.Initcalls" && c.Children.Any(l => l.Name.StartsWith(KernelBootPhases.LevelSpanPrefix, StringComparison.Ordinal)));
        var agent = Assert.Single(trace.Spans, s => s.Name == "agent.Start");
        // The agent's module step is still there: it found a kernel without modules and loaded none.
        Assert.Contains(agent.Children, c => c.Name == "agent.KernelModules");
        scratch.AssertNothingLeft();
    }
}
