using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;

namespace Nerdbox.Tests.Infrastructure;

/// <summary>The shim's serve mode as a real process, with its task API on a loopback port.</summary>
public sealed class ShimProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly LogLines _log = new();

    private ShimProcess(Process process, int taskApiPort, int httpPort)
    {
        _process = process;
        TaskApiPort = taskApiPort;
        HttpPort = httpPort;
    }

    public int TaskApiPort { get; }
    public int HttpPort { get; }
    public string Log => _log.ToString();

    /// <summary>Starts the shim; with <paramref name="taskApiSocket"/> its task API is on that unix socket instead of a port.</summary>
    public static ShimProcess Start(string stateRoot, IDictionary<string, string>? env = null, string? taskApiSocket = null)
    {
        var (program, leading) = ShimUnderTest.Command();
        var taskPort = FreePort();
        var httpPort = FreePort();
        var psi = new ProcessStartInfo(program, [.. leading, "serve"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (taskApiSocket is null) psi.Environment["NERDBOX_TASK_API_PORT"] = taskPort.ToString();
        else psi.Environment["Nerdbox__TaskApi__Socket"] = taskApiSocket;
        psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort}";
        psi.Environment["NERDBOX_STATE_DIR"] = stateRoot;
        psi.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = "";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi };
        var shimProcess = new ShimProcess(p, taskPort, httpPort);
        p.OutputDataReceived += (_, e) => shimProcess._log.Add(e.Data);
        p.ErrorDataReceived += (_, e) => shimProcess._log.Add(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return shimProcess;
    }

    /// <summary>Waits until /health says the shim can boot VMs.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}") };
        var deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the shim exited ({_process.ExitCode}):\n{Log}");
            try
            {
                var r = await http.GetAsync("/health");
                last = await r.Content.ReadAsStringAsync();
                if (r.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(250);
        }
        throw new TimeoutException($"the shim was not healthy within {timeout}: {last}\n{Log}");
    }

    public GrpcChannel TaskApiChannel() => GrpcChannel.ForAddress($"http://127.0.0.1:{TaskApiPort}");

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the shim stops its VMs on the way out.
            Process.Start("kill", ["-TERM", _process.Id.ToString()])?.WaitForExit();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(true); await _process.WaitForExitAsync(); }
        }
        _process.Dispose();
    }

    private sealed class LogLines
    {
        private readonly List<string> _lines = new();
        public void Add(string? line) { if (line is null) return; lock (_lines) _lines.Add(line); }
        public override string ToString() { lock (_lines) return string.Join('\n', _lines.TakeLast(200)); }
    }
}
