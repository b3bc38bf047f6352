using System.Text;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Tasks;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Tests.Vm;

/// <summary>
/// Real VMs: a container sees the same root whether its rootfs came in the initramfs or on a disk (owners, modes, times,
/// hard links, and a root it can write to), and the trace says which way it came and what the guest loaded for it.
/// </summary>
[Collection(nameof(VmCollection))]
public sealed class RootfsDeliveryTests(GuestImageFixture fixture)
{
    private const long Mtime = 1700000000;

    [Theory]
    [InlineData(RootfsVia.Initramfs)]
    [InlineData(RootfsVia.Disk)]
    public async Task The_container_sees_the_same_writable_root_either_way_and_the_trace_says_which(string via)
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("rootfs-" + via, "sh", "-c",
            "stat -c '%n %u:%g %a %h %Y' /owned /owned-too; echo made > /made && cat /made");
        var owned = Path.Combine(bundle, "rootfs", "owned");
        File.WriteAllText(owned, "owned\n");
        // Owner first: a change of owner clears the set-user-ID bit.
        HostCommand.Run("chown", "1234:5678", owned);
        File.SetUnixFileMode(owned, (UnixFileMode)0x9C8 /* 04710 */);
        File.SetLastWriteTimeUtc(owned, DateTimeOffset.FromUnixTimeSeconds(Mtime).UtcDateTime);
        HostCommand.Run("ln", owned, owned + "-too");

        await using var traced = await TracedRun.StartAsync();
        var run = await TaskRun.RunAsync("rootfs-" + via, bundle, await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks, Rootfs = via });
        var stdout = Encoding.UTF8.GetString(run.Stdout);
        Assert.True(run.ExitStatus == 0, $"exit {run.ExitStatus}\n{stdout}\n{Encoding.UTF8.GetString(run.Stderr)}");
        Assert.Equal($"/owned 1234:5678 4710 2 {Mtime}\n/owned-too 1234:5678 4710 2 {Mtime}\nmade\n", stdout);

        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "task.Delete") && s.Any(x => x.Span.Name == "shim.BundleLoad") && s.Any(x => x.Span.Name == "mount.Overlay"));
        Assert.Equal(via, Attribute(Single(spans, "shim.BundleLoad"), "nerdbox.rootfs.via").StringValue);
        Assert.Equal("asked for", Attribute(Single(spans, "shim.BundleLoad"), "nerdbox.rootfs.via_reason").StringValue);
        Assert.Equal(via, Attribute(Single(spans, "bundle.MountRootfs"), "nerdbox.rootfs.via").StringValue);
        var modules = spans.Select(s => s.Span.Name).Where(n => n.StartsWith("agent.KernelModule.", StringComparison.Ordinal)).ToHashSet();
        Assert.Contains("agent.KernelModule.overlay", modules);
        if (via == RootfsVia.Initramfs)
        {
            // No disk: no disk driver, no file system for one, nothing mounted under the overlay.
            Assert.True(Attribute(Single(spans, "shim.BundleLoad"), "nerdbox.rootfs.initramfs_bytes").IntValue > 1_000_000);
            Assert.DoesNotContain("agent.KernelModule.virtio_blk", modules);
            Assert.DoesNotContain("agent.KernelModule.erofs", modules);
            Assert.DoesNotContain(spans, s => s.Span.Name == "mount.Lower");
        }
        else
        {
            Assert.True(Attribute(Single(spans, "shim.BundleLoad"), "nerdbox.rootfs.disk_bytes").IntValue > 0);
            Assert.Contains("agent.KernelModule.virtio_blk", modules);
            Assert.Contains("agent.KernelModule.erofs", modules);
            Assert.Equal("erofs", Attribute(Single(spans, "mount.Lower"), "system.filesystem.type").StringValue);
        }
        scratch.AssertNothingLeft();
    }

    private static Span Single(IReadOnlyList<ReceivedSpan> spans, string name) => Assert.Single(spans, s => s.Span.Name == name).Span;

    private static OpenTelemetry.Proto.Common.V1.AnyValue Attribute(Span span, string key) => span.Attributes.Single(a => a.Key == key).Value;
}
