using System.Diagnostics;
using System.Globalization;
using Nerdbox.Engine.Host;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary><c>serve</c> as a child process, its output kept in a log file.</summary>
internal sealed class ServedShim
{
    private readonly Process _process;
    private readonly string _log;

    private ServedShim(Process process, string log)
    {
        _process = process;
        _log = log;
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public static ServedShim Start(string root, string stateRoot, string socket, string backend, string accel)
    {
        var command = ShimProgram.Command();
        var psi = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("serve");
        psi.Environment["Nerdbox__TaskApi__Socket"] = socket;
        psi.Environment.Remove("NERDBOX_TASK_API_PORT");
        psi.Environment["NERDBOX_STATE_DIR"] = stateRoot;
        psi.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        psi.Environment["Nerdbox__Backend"] = backend;
        psi.Environment["Nerdbox__Accelerator"] = accel;
        // No OTLP destination: the soak measures the shim, not a collector's availability.
        psi.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "";
        var log = Path.Combine(root, "serve.log");
        var writer = new StreamWriter(log) { AutoFlush = true };
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        p.Exited += (_, _) => { lock (writer) writer.Dispose(); };
        p.EnableRaisingEvents = true;
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return new ServedShim(p, log);
    }

    public string LogTail()
    {
        try
        {
            using var s = new FileStream(_log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return string.Join('\n', new StreamReader(s).ReadToEnd().Split('\n').TakeLast(40));
        }
        catch (IOException e) { return $"(no log: {e.Message})"; }
    }

    /// <summary>SIGTERM: the shim stops its VMs on the way out.</summary>
    public void Terminate()
    {
        if (!_process.HasExited) Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])?.WaitForExit();
    }

    /// <summary><see cref="Terminate"/>, then a kill if it has not gone in 30 s.</summary>
    public async System.Threading.Tasks.Task StopAsync()
    {
        if (_process.HasExited) return;
        Terminate();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            _process.Kill(true);
            await _process.WaitForExitAsync();
        }
    }
}
