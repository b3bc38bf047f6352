using System.Diagnostics;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Cli;

/// <summary>
/// The built <c>nerdbox-shim</c> run as a child process in a sandbox of its own: HOME, the guest
/// image, VM state, runtime and temp folders and the working directory all start empty, so that
/// anything a command builds, writes or boots shows up there.
/// </summary>
public sealed class ShimExecutable : IDisposable
{
    /// <summary>Long enough for a cold start on a busy machine; a command that serves or builds instead of returning hits it.</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A built guest image for a test that boots VMs; otherwise the shim gets the sandbox's empty folder.</summary>
    public string? GuestImageDir { get; init; }

    public sealed record Result(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
    }

    public ShimExecutable()
    {
        Root = Path.Combine(Path.GetTempPath(), "nerdbox-cli-tests", Guid.NewGuid().ToString("N")[..12]);
        foreach (var dir in Folders) Directory.CreateDirectory(dir);
    }

    public string Root { get; }
    public string Home => Path.Combine(Root, "home");
    public string ImageDir => Path.Combine(Root, "image");
    public string WorkDir => Path.Combine(Root, "work");
    private string StateDir => Path.Combine(Root, "state");
    private string RuntimeDir => Path.Combine(Root, "run");
    private string TempDir => Path.Combine(Root, "tmp");
    private IEnumerable<string> Folders => [Home, ImageDir, WorkDir, StateDir, RuntimeDir, TempDir];

    public async Task<Result> RunAsync(params string[] args)
    {
        var (program, leading) = ShimUnderTest.Command();
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = WorkDir,
        };
        foreach (var a in leading) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = Home;
        psi.Environment["NERDBOX_IMAGE_DIR"] = GuestImageDir ?? ImageDir;
        psi.Environment["NERDBOX_STATE_DIR"] = StateDir;
        psi.Environment["XDG_RUNTIME_DIR"] = RuntimeDir;
        psi.Environment["TMPDIR"] = TempDir;
        psi.Environment.Remove("XDG_CACHE_HOME");
        psi.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "";
        psi.Environment["NERDBOX_OTLP_EXTRA_ENDPOINTS"] = "";

        using var p = new Process { StartInfo = psi };
        var sw = Stopwatch.StartNew();
        p.Start();
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Patience);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            Assert.Fail($"nerdbox-shim {string.Join(' ', args)} was still running after {Patience.TotalSeconds} s:\n{await stdout}{await stderr}");
        }
        var elapsed = sw.Elapsed;
        return new Result(p.ExitCode, await stdout, await stderr, elapsed);
    }

    /// <summary>Everything in the sandbox's folders, which a command without side effects leaves empty.</summary>
    public IReadOnlyList<string> Leftovers() =>
        Folders.SelectMany(d => Directory.EnumerateFileSystemEntries(d, "*", SearchOption.AllDirectories)).ToList();

    /// <summary>
    /// Live processes whose command line or environment names the sandbox: whatever the shim started
    /// (a VMM, a helper, a server) inherits its environment, and a VMM's state is in the sandbox.
    /// </summary>
    public IReadOnlyList<string> ProcessesFromTheSandbox() =>
        Directory.EnumerateDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out var pid) && pid != Environment.ProcessId)
            .Where(d => Read(d, "cmdline").Contains(Root, StringComparison.Ordinal) || Read(d, "environ").Contains(Root, StringComparison.Ordinal))
            .Select(d => $"{Path.GetFileName(d)}: {Read(d, "cmdline")}")
            .ToList();

    private static string Read(string procDir, string file)
    {
        try { return File.ReadAllText(Path.Combine(procDir, file)).Replace('\0', ' '); }
        catch (Exception) { return ""; }
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}
