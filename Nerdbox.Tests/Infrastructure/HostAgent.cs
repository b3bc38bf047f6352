using System.Diagnostics;
using System.Net.Sockets;
using Nerdbox.Shim.Agent;

namespace Nerdbox.Tests.Infrastructure;

/// <summary>
/// The guest agent run as a plain host process on a unix socket (<c>--unix PATH</c>), with extra
/// arguments, and a shim <see cref="AgentClient"/> connected to it. Killed and cleaned up on dispose.
/// </summary>
public sealed class HostAgent : IAsyncDisposable
{
    private readonly List<string> _lines = [];
    private readonly Process _process;
    private readonly string _dir;

    private HostAgent(Process process, string dir, string socket)
    {
        _process = process;
        _dir = dir;
        Socket = socket;
        Client = new AgentClient(ConnectAsync);
    }

    public string Socket { get; }
    public AgentClient Client { get; }
    public string Log { get { lock (_lines) return string.Join('\n', _lines); } }

    public static string AgentDll()
    {
        // Built next to the tests: the same configuration and framework folders under the agent's project.
        var testBin = AppContext.BaseDirectory.TrimEnd('/');
        var dll = Path.Combine(testBin.Replace("/Nerdbox.Tests/bin/", "/Nerdbox.GuestAgent/bin/"), "nerdbox-agent.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("the guest agent is not built", dll);
    }

    public static async Task<HostAgent> StartAsync(params string[] extraArgs)
    {
        // Short: a unix socket path has a 108-byte limit.
        var dir = Path.Combine(Path.GetTempPath(), "nb-agent-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var socket = Path.Combine(dir, "agent.sock");
        var psi = new ProcessStartInfo("dotnet", [AgentDll(), "--unix", socket, "--state", Path.Combine(dir, "state"), .. extraArgs])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var agent = new HostAgent(new Process { StartInfo = psi }, dir, socket);
        void Add(string? line) { if (line is not null) lock (agent._lines) agent._lines.Add(line); }
        agent._process.OutputDataReceived += (_, e) => Add(e.Data);
        agent._process.ErrorDataReceived += (_, e) => Add(e.Data);
        agent._process.Start();
        agent._process.BeginOutputReadLine();
        agent._process.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!agent.Log.Contains("listening on", StringComparison.Ordinal))
            {
                if (agent._process.HasExited) throw new InvalidOperationException($"the agent exited ({agent._process.ExitCode}):\n{agent.Log}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException("the agent did not listen within 30 s:\n" + agent.Log);
                await Task.Delay(20);
            }
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
        return agent;
    }

    private async ValueTask<Stream> ConnectAsync(CancellationToken ct)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await s.ConnectAsync(new UnixDomainSocketEndPoint(Socket), ct);
            return new NetworkStream(s, ownsSocket: true);
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
