using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>
/// Runs mermaid's own parser (the npm package, in Node with jsdom for a DOM) over charts, so a test
/// fails when GitHub would show "Unable to render rich display" instead of the chart. Installs the
/// pinned packages (<c>npm ci</c>) on first use, so a clean clone needs only node and npm.
/// </summary>
public static class MermaidCheck
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static bool _installed;

    public static string Directory => typeof(MermaidCheck).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MermaidCheckDirectory").Value!;

    /// <summary>Parses each chart; returns what mermaid made of it (ok or the error, and a gantt's tasks).</summary>
    public static async Task<IReadOnlyList<MermaidReport>> ParseAsync(params string[] charts)
    {
        await EnsureInstalledAsync();
        var scratch = Path.Combine(Path.GetTempPath(), "nerdbox-mermaid-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(scratch);
        try
        {
            var files = new List<string>();
            for (var i = 0; i < charts.Length; i++)
            {
                var f = Path.Combine(scratch, $"chart{i}.mmd");
                await File.WriteAllTextAsync(f, charts[i]);
                files.Add(f);
            }
            var (_, stdout, stderr) = await RunAsync("node", ["parse.mjs", .. files], TimeSpan.FromMinutes(1));
            var reports = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonSerializer.Deserialize<MermaidReport>(l, new JsonSerializerOptions(JsonSerializerDefaults.Web))!)
                .ToList();
            Assert.True(reports.Count == charts.Length, $"mermaid check printed {reports.Count} reports for {charts.Length} charts; stderr: {stderr}");
            return reports;
        }
        finally
        {
            System.IO.Directory.Delete(scratch, true);
        }
    }

    /// <summary>Parses one chart and fails the test, showing mermaid's error and the chart, unless it parses.</summary>
    public static async Task<MermaidReport> AssertParsesAsync(string chart)
    {
        var report = (await ParseAsync(chart))[0];
        Assert.True(report.Ok, $"mermaid rejected the chart: {report.Error}\n{chart}");
        return report;
    }

    private static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (_installed) return;
            if (!File.Exists(Path.Combine(Directory, "node_modules", "mermaid", "package.json")) ||
                !File.Exists(Path.Combine(Directory, "node_modules", "jsdom", "package.json")))
            {
                var (code, stdout, stderr) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5));
                Assert.True(code == 0, $"npm ci in {Directory} failed ({code}):\n{stdout}\n{stderr}");
            }
            _installed = true;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} took longer than {timeout}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }
}

public sealed record MermaidReport(string File, bool Ok, string? Type, string? Title, string? Error, IReadOnlyList<MermaidTask>? Tasks);

public sealed record MermaidTask(string Id, string Name, string Section, long Start, long End, IReadOnlyList<string> Classes);
