using Nerdbox.Fuzz.Harnesses;

namespace Nerdbox.Tests.Fuzzing;

/// <summary>
/// Every seed and every regression input (a finding, fixed) runs through its harness in this process,
/// with no fuzzer: each must keep the harness's contract (succeed, or fail with the documented
/// bad-input exception, which the harness expects), and none may hang.
/// </summary>
public sealed class CommittedInputsReplay
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var (harness, file) in FuzzProject.Inputs()) data.Add(harness.Name, file);
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Input_keeps_its_harness_contract(string target, string file)
    {
        var harness = FuzzHarnesses.Find(target)!;
        var input = await File.ReadAllBytesAsync(Path.Combine(FuzzProject.Directory, file));

        var run = Task.Run(() => harness.Run(input));

        // A hang is a finding too; a harness run takes milliseconds.
        await run.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void Every_harness_has_seeds_and_every_committed_input_a_harness()
    {
        foreach (var h in FuzzHarnesses.All)
            Assert.True(FuzzProject.Inputs().Any(i => i.Harness == h && i.File.StartsWith("corpus", StringComparison.Ordinal)), $"no seed corpus for {h.Name}");
        var known = FuzzHarnesses.All.Append(FuzzHarnesses.Canary).Select(h => h.Name).ToHashSet();
        foreach (var folder in new[] { "corpus", "regressions" })
        {
            var dir = Path.Combine(FuzzProject.Directory, folder);
            if (!Directory.Exists(dir)) continue;
            foreach (var sub in Directory.EnumerateDirectories(dir))
                Assert.True(known.Contains(Path.GetFileName(sub)), $"{folder}/{Path.GetFileName(sub)} names no harness");
        }
    }
}
