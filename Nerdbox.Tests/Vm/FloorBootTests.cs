using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Host;
using Nerdbox.Shim.Cli.Bench;
using Nerdbox.Tests.Cli;
using Nerdbox.Tests.Fixture;
using Nerdbox.Testing;

namespace Nerdbox.Tests.Vm;

/// <summary>The floor of <c>bench floor</c>: a bare VM with the run's kernel whose busybox /init prints a line and powers off.</summary>
[Collection(nameof(VmCollection))]
public sealed class FloorBootTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task A_bare_VM_prints_its_line_powers_off_and_leaves_nothing()
    {
        await using var scratch = new VmScratch();
        var options = await scratch.OptionsAsync(fixture, TimeSpan.FromMinutes(3));
        var initrd = await FloorImage.EnsureAsync(scratch.Root, CancellationToken.None);
        var bundle = await scratch.BundleAsync("floor", "true");
        var disk = await RootfsDisk.BuildAsync(Path.Combine(bundle, "rootfs"), Path.Combine(scratch.Root, "floor.erofs"), CancellationToken.None);

        var (took, anonMib, systemCpu) = await FloorBoot.RunOnceAsync("floor", options, initrd, disk, CancellationToken.None);

        Assert.True(took > TimeSpan.Zero, $"VMM spawn to the line took {took}");
        // The VMM held at least the guest kernel it loaded, and no more than the guest's RAM and its own code could fill.
        Assert.InRange(anonMib ?? 0, 20, options.MemoryMib + 1024);
        Assert.NotNull(systemCpu);
        Assert.InRange(systemCpu.Value, TimeSpan.Zero, took * 2);
        Assert.Equal(initrd, await FloorImage.EnsureAsync(scratch.Root, CancellationToken.None)); // cached, not rewritten
        var cpio = await File.ReadAllBytesAsync(initrd);
        foreach (var entry in new[] { "init\0", "bin/busybox\0", "dev/console\0", FloorImage.Line })
            Assert.True(cpio.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(entry)) >= 0, $"the floor's initramfs has no {entry.TrimEnd('\0')}");
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task A_dynamically_linked_busybox_is_refused_by_name()
    {
        await using var scratch = new VmScratch();
        var dynamic = HostTools.Find("ls")!;

        var e = await Assert.ThrowsAsync<GuestImageException>(() => FloorImage.EnsureAsync(scratch.Root, CancellationToken.None, dynamic));

        Assert.Contains(dynamic, e.Message);
        Assert.Contains("busybox-static", e.Message);
    }

    [Fact]
    public async Task Bench_floor_prints_the_floor_both_figures_and_their_ratios_and_skips_what_cannot_run()
    {
        await fixture.ImageAsync();
        using var shim = new ShimExecutable { GuestImageDir = GuestImageBuilder.DefaultCacheDirectory, Patience = TimeSpan.FromMinutes(15) };

        var r = await shim.RunAsync("bench", "floor", "--count", "1", "--timeout", "180");

        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        foreach (var row in new[] { "floor", "boot to output", "wall from CLI start" })
            Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, "^" + row + @"\s+1\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d\s+\d+\.\d\d$"));
        Assert.Contains(lines, l => l.StartsWith("floor ", StringComparison.Ordinal) && l.TrimEnd().EndsWith("1.00       1.00", StringComparison.Ordinal));
        foreach (var backend in Nerdbox.Engine.Vm.BackendSelector.All())
            if (backend.Check() is { Usable: false } check)
                Assert.Contains($"{backend.Name}: skipped: {check.Reason}", lines);
        Assert.Contains("executable: ", r.Stdout);
        Assert.Contains(FloorBench.OrderNote, r.Stdout);
        Assert.Contains(lines, l => l.StartsWith(MemoryFigures.Name + " (median): floor ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(PhaseFigures.VmmSystemCpuToOutput + " ms (median): floor ", StringComparison.Ordinal));
        // One boot of each kind: each follows exactly one kind, so each row has one figure and two dashes.
        foreach (var row in new[] { "floor", "boot to output", "wall from CLI start" })
            Assert.Matches(@"^" + row + @"\s+((\d+ \(1\)|-)\s*){3}$", lines.Single(l => l.StartsWith(row + " ", StringComparison.Ordinal) && l.Contains('(')));
        Assert.Empty(shim.ProcessesFromTheSandbox());
    }
}
