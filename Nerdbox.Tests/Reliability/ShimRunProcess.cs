using System.Diagnostics;
using Nerdbox.Tests.Infrastructure;
using Nerdbox.Engine.GuestImage;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// <c>nerdbox-shim run BUNDLE</c> as a real process (the built shim through the dotnet host, or <c>NERDBOX_TEST_SHIM</c>) with its VM
/// state under a test's root, its output kept line by line, so that a test can kill it at a chosen moment.
/// </summary>
public sealed class ShimRunProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private ShimRunProcess(Process process) => _process = process;

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public string Output
    {
        get { lock (_lines) return string.Join('\n', _lines); }
    }

    public static ShimRunProcess Start(string stateRoot, string bundle, params string[] extraArgs)
    {
        var (program, leading) = ShimUnderTest.Command();
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        string[] args = [.. leading, "run", bundle, "--timeout", "180", .. extraArgs];
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NERDBOX_STATE_DIR"] = stateRoot;
        psi.Environment["NERDBOX_IMAGE_DIR"] = GuestImageBuilder.DefaultCacheDirectory;
        psi.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "";
        psi.Environment["NERDBOX_OTLP_EXTRA_ENDPOINTS"] = "";
        var p = new Process { StartInfo = psi };
        var run = new ShimRunProcess(p);
        p.OutputDataReceived += (_, e) => run.Add("out: ", e.Data);
        p.ErrorDataReceived += (_, e) => run.Add("err: ", e.Data);
        p.Start();
        p.StandardInput.Close();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return run;
    }

    private void Add(string prefix, string? line)
    {
        if (line is null) return;
        lock (_lines) _lines.Add(prefix + line);
    }

    /// <summary>Waits until <paramref name="ready"/> holds, polling; fails with the shim's output when it exits first or time runs out.</summary>
    public async Task WaitUntilAsync(Func<bool> ready, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!ready())
        {
            if (_process.HasExited) throw new InvalidOperationException($"the shim exited ({_process.ExitCode}) before {what}:\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not {what} within {timeout}:\n{Output}");
            await Task.Delay(20);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the shim did not exit within {timeout}:\n{Output}");
        }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the shim gets no chance to clean up.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
