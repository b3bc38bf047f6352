using System.Diagnostics;
using System.Globalization;
using Nerdbox.Fuzz.Harnesses;

namespace Nerdbox.Tests.Fuzzing;

/// <summary>
/// The short fuzz pass CI runs: each harness under afl-fuzz (through <c>Nerdbox.Fuzz/fuzz.sh</c>, the
/// same command as a long run, bounded here) on an instrumented copy of the build. No crash and no hang
/// may be found; the executions reached go to the test output. The canary's planted bug must be found,
/// which shows that a crash would be.
/// </summary>
public sealed class BoundedFuzzPass(ITestOutputHelper output, BoundedFuzzPass.Workspace workspace) : IClassFixture<BoundedFuzzPass.Workspace>
{
    /// <summary>One folder for the pass: the instrumented copy (made once, reused for every harness) and the findings.</summary>
    public sealed class Workspace : IDisposable
    {
        public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nerdbox-fuzz-pass-" + Guid.NewGuid().ToString("N"))).FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Seconds of fuzzing per harness: nine harnesses and the canary stay within about two and a half minutes.</summary>
    private const int Seconds = 12;

    public static TheoryData<string> Targets() => new(FuzzHarnesses.All.Select(h => h.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Fuzzing_finds_no_crash_and_no_hang(string target)
    {
        var stats = await FuzzAsync(target);

        var findings = Findings(target);
        Assert.True(findings.Count == 0, $"{target}: afl-fuzz found {findings.Count} input(s) that break the harness's contract:\n"
            + string.Join("\n", findings.Select(f => $"{Keep(target, f)}\n  {Replay(target, f)}")));
        Assert.True(stats["execs_done"] > 0, $"{target}: afl-fuzz ran no input");
    }

    [Fact]
    public async Task Fuzzing_finds_the_canarys_planted_bug()
    {
        await FuzzAsync(FuzzHarnesses.Canary.Name);

        var findings = Findings(FuzzHarnesses.Canary.Name);
        Assert.True(findings.Count > 0, "afl-fuzz did not find the canary's planted crash: crashes would go unnoticed");
        Assert.All(findings.Where(f => f.Contains("crashes", StringComparison.Ordinal)),
            f => Assert.Contains((byte)0xFF, File.ReadAllBytes(f)));
    }

    private async Task<Dictionary<string, long>> FuzzAsync(string target)
    {
        Assert.True(OnPath("afl-fuzz"), "afl-fuzz is not installed (AFL++, Debian package afl++): setup.sh installs it");
        var (code, text) = await RunFuzzScriptAsync(target);
        // afl-fuzz's start-up check on the first seed can see an empty coverage map on a loaded machine, although
        // the same instrumented copy shows coverage on every other run. That start is tried once more, and said so;
        // any other failure, and a second such one, fails the test.
        if (code != 0 && text.Contains(NoInstrumentation, StringComparison.Ordinal))
        {
            output.WriteLine($"{target}: afl-fuzz's dry run saw no coverage; starting it once more. First attempt:\n{Tail(text)}");
            (code, text) = await RunFuzzScriptAsync(target);
        }
        Assert.True(code == 0, $"fuzz.sh {target} exited with {code}:\n{Tail(text)}");

        var stats = Stats(target);
        output.WriteLine($"{target}: {stats["execs_done"]} executions in {stats["run_time"]} s ({stats["execs_per_sec"]}/s), " +
                         $"{stats["corpus_count"]} corpus entries, {stats["saved_crashes"]} crashes, {stats["saved_hangs"]} hangs");
        return stats;
    }

    private const string NoInstrumentation = "No instrumentation detected";

    /// <summary>One bounded run of <c>fuzz.sh</c>: its exit code, and its stderr then stdout (also kept in the pass's folder).</summary>
    private async Task<(int ExitCode, string Text)> RunFuzzScriptAsync(string target)
    {
        var log = Path.Combine(workspace.Path, target + ".log");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(FuzzProject.Directory, "fuzz.sh"));
        psi.ArgumentList.Add(target);
        psi.ArgumentList.Add(Seconds.ToString(CultureInfo.InvariantCulture));
        psi.Environment["FUZZ_BUILD"] = FuzzProject.BuildDirectory;
        psi.Environment["FUZZ_WORK"] = workspace.Path;
        psi.Environment["FUZZ_OUT"] = Path.Combine(workspace.Path, "findings");

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // Instrumenting (first harness only), calibrating the seeds and the bounded run, with slack for a loaded machine.
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(Seconds + 300));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var text = await stderr + await stdout;
        await File.WriteAllTextAsync(log, text);
        return (process.ExitCode, text);
    }

    private string Findings(string target, string kind) => Path.Combine(workspace.Path, "findings", target, "default", kind);

    /// <summary>Inputs afl-fuzz saved as crashes or hangs.</summary>
    private List<string> Findings(string target) =>
        new[] { "crashes", "hangs" }.Select(k => Findings(target, k)).Where(Directory.Exists)
            .SelectMany(Directory.EnumerateFiles).Where(f => Path.GetFileName(f).StartsWith("id:", StringComparison.Ordinal)).ToList();

    /// <summary>fuzzer_stats, the counters afl-fuzz writes: "name : value" a line.</summary>
    private Dictionary<string, long> Stats(string target)
    {
        var stats = new Dictionary<string, long>();
        foreach (var line in File.ReadAllLines(Path.Combine(workspace.Path, "findings", target, "default", "fuzzer_stats")))
        {
            var parts = line.Split(':', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && double.TryParse(parts[1].TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                stats[parts[0]] = (long)v;
        }
        return stats;
    }

    /// <summary>What a finding does when replayed in this process: the exception the fuzzer saw, or that it passes now.</summary>
    private static string Replay(string target, string file)
    {
        try
        {
            var run = Task.Run(() => FuzzHarnesses.Find(target)!.Run(File.ReadAllBytes(file)));
            return run.Wait(TimeSpan.FromSeconds(30)) ? "passes when replayed (a hang, or a crash that depends on earlier inputs)" : "hangs when replayed";
        }
        catch (AggregateException e)
        {
            return e.InnerException!.ToString().Split('\n').Take(6).Aggregate((a, b) => a + "\n  " + b);
        }
    }

    /// <summary>A copy of a finding outside the pass's folder, which is removed at the end, to add to the regressions once fixed.</summary>
    private static string Keep(string target, string file)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "nerdbox-fuzz-findings", target)).FullName;
        var kept = Path.Combine(dir, Path.GetFileName(Path.GetDirectoryName(file)) + "-" + Path.GetFileName(file).Replace(':', '_'));
        File.Copy(file, kept, overwrite: true);
        return kept;
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, program)));

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(30));
}
