using System.Diagnostics;
using System.Text;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Libkrun;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using Nerdbox.Tests.Vm;

namespace Nerdbox.Tests.Libkrun;

/// <summary>
/// A real libkrun VM running a busybox container, where the host has hardware KVM and libkrun;
/// elsewhere the test is skipped with the reason.
/// </summary>
[Collection(nameof(VmCollection))]
public sealed class LibkrunBootTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task Busybox_bundle_runs_in_a_libkrun_VM_over_vsock()
    {
        var backend = new LibkrunBackend();
        var check = backend.Check();
        if (!check.Usable) Assert.Skip("libkrun: " + check.Reason);

        var vmStartTags = new Dictionary<string, object?>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == Nerdbox.Telemetry.ShimTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.OperationName != "vm.VMMStart") return;
                lock (vmStartTags) foreach (var (k, v) in a.TagObjects) vmStartTags[k] = v;
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("hello-krun", "sh", "-c", "echo nerdbox-known-line; exit 3");
        var options = await scratch.OptionsAsync(fixture) with { Backend = backend, BackendReason = "libkrun as asked: " + check.Reason };
        await using (var task = await VmTask.CreateAsync("hello-krun", bundle, options))
        {
            Assert.Equal("libkrun/kvm", task.Backend);
            Assert.Single(scratch.VmmProcesses());
            await task.StartAsync();
            var (status, _) = await task.WaitAsync();
            Assert.Equal(3, status);
            Assert.Equal("nerdbox-known-line\n", Encoding.UTF8.GetString(task.Output.Stdout()));
            Assert.StartsWith("vsock:", task.AgentInfo!.Channel);
            await task.DeleteAsync();
        }
        scratch.AssertNothingLeft();
        lock (vmStartTags)
        {
            Assert.Equal("libkrun", vmStartTags["nerdbox.vm.backend"]);
            Assert.Equal("vsock", vmStartTags["nerdbox.vm.channel"]);
            Assert.Equal("libkrun as asked: " + check.Reason, vmStartTags["nerdbox.vm.backend_reason"]);
        }
    }
}
