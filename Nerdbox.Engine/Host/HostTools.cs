using System.Diagnostics;
using System.Text;

namespace Nerdbox.Engine.Host;

/// <summary>Finding and running the host programs the shim relies on (qemu, mkfs.erofs, apt-get, ...).</summary>
public static class HostTools
{
    /// <summary>The full path of <paramref name="name"/> on PATH (or itself when it is a path), or null.</summary>
    public static string? Find(string name)
    {
        if (name.Contains('/')) return File.Exists(name) ? Path.GetFullPath(name) : null;
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Concat(["/usr/sbin", "/sbin"]);
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => (Stdout + Stderr).Trim();
    }

    /// <summary>Runs a program to the end, capturing its output; a timeout kills it.</summary>
    public static async Task<Result> RunAsync(string program, IEnumerable<string> args, string? workDir = null,
        TimeSpan? timeout = null, Action<string>? onLine = null, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (stdout) stdout.AppendLine(e.Data); onLine?.Invoke(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is null) return; lock (stderr) stderr.AppendLine(e.Data); onLine?.Invoke(e.Data); };
        try
        {
            p.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new Result(127, "", $"{program}: {e.Message}");
        }
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout is { } t) cts.CancelAfter(t);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await p.WaitForExitAsync(CancellationToken.None);
            if (ct.IsCancellationRequested) throw;
            return new Result(124, stdout.ToString(), stderr + $"\n{program} timed out after {timeout}");
        }
        return new Result(p.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
