using System.Text.Json;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Shim.Cli.Bench;
using Nerdbox.Tests.Cli;
using Nerdbox.Tests.Fixture;

namespace Nerdbox.Tests.Vm;

/// <summary><c>bench compare</c> through the real executable, booting real VMs: no kernel words against <c>mitigations=off</c>.</summary>
[Collection(nameof(VmCollection))]
public sealed class CompareBenchTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task Compare_prints_every_phase_with_a_delta_and_a_significance_mark()
    {
        // The image is built (or found) once for the test run; the executable then reads it from the cache.
        await fixture.ImageAsync();
        using var shim = new ShimExecutable { GuestImageDir = GuestImageBuilder.DefaultCacheDirectory, Patience = TimeSpan.FromMinutes(10) };
        var json = Path.Combine(shim.WorkDir, "compare.json");

        var r = await shim.RunAsync("bench", "compare", "--count", "2", "--b-kernel-arg", "mitigations=off", "--json", json);

        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.Contains(lines, l => l.Trim().StartsWith("A: qemu", StringComparison.Ordinal) && l.Contains("kernel args: (none)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Trim().StartsWith("B: qemu", StringComparison.Ordinal) && l.Contains("kernel args: mitigations=off", StringComparison.Ordinal));
        foreach (var phase in PhaseFigures.Names)
        {
            var row = Assert.Single(lines, l => l.StartsWith(phase + " ", StringComparison.Ordinal));
            // Four times, B-A in ms and %, the p-value and its mark.
            Assert.Matches(@"^" + System.Text.RegularExpressions.Regex.Escape(phase) + @"\s+(\d+\.\d\s+){4}[+-]?\d+\.\d\s+[+-]?\d+\.\d%\s+\d\.\d{3} (\*\*|\*|~)$", row);
        }
        // The VMMs' memory, read from each real VMM, in the same columns.
        Assert.Matches(@"^" + System.Text.RegularExpressions.Regex.Escape(MemoryFigures.Name) + @"\s+(\d+\.\d\s+){4}[+-]?\d+\.\d\s+[+-]?\d+\.\d%\s+\d\.\d{3} (\*\*|\*|~)$",
            Assert.Single(lines, l => l.StartsWith(MemoryFigures.Name + " ", StringComparison.Ordinal)));
        Assert.Contains(RankTest.Legend, r.Stdout);
        // Two boots of each side can never reach p<0.05, and the output says so.
        Assert.Contains("no difference can reach p<0.05", r.Stdout);
        Assert.Contains("boot 2/2 A:", r.Stderr);
        Assert.Contains("boot 2/2 B:", r.Stderr);

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = doc.RootElement;
        Assert.Equal("compare", root.GetProperty("bench").GetString());
        Assert.Equal(Environment.MachineName, root.GetProperty("host").GetProperty("machine").GetString());
        Assert.Equal(["mitigations=off"], root.GetProperty("b").GetProperty("vm").GetProperty("kernelArgs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, root.GetProperty("a").GetProperty("vm").GetProperty("kernelArgs").GetArrayLength());
        foreach (var side in new[] { "a", "b" })
        {
            Assert.Equal(2, root.GetProperty(side).GetProperty("boots").GetInt32());
            Assert.All(root.GetProperty(side).GetProperty("phases").EnumerateArray(), p => Assert.Equal(2, p.GetProperty("samplesMs").GetArrayLength()));
            Assert.All(root.GetProperty(side).GetProperty("vmmAnonMemory").GetProperty("samplesMib").EnumerateArray(), m => Assert.InRange(m.GetDouble(), 20, 512 + 1024));
        }
        Assert.All(root.GetProperty("comparison").EnumerateArray(), c => Assert.InRange(c.GetProperty("p").GetDouble(), 0, 1));

        Assert.Empty(shim.ProcessesFromTheSandbox());
    }
}
