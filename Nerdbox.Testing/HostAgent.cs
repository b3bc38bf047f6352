using System.Diagnostics;
using System.Net.Sockets;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Testing;

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

    /// <summary>
    /// The agent built beside the caller (the test or shim binaries' configuration), else the newest
    /// build in the source tree.
    /// </summary>
    public static string AgentDll()
    {
        var bin = AppContext.BaseDirectory.TrimEnd('/');
        foreach (var project in new[] { "/Nerdbox.Tests/bin/", "/Nerdbox.Shim/bin/" })
        {
            if (!bin.Contains(project, StringComparison.Ordinal)) continue;
            var beside = Path.Combine(bin.Replace(project, "/Nerdbox.GuestAgent/bin/"), "nerdbox-agent.dll");
            if (File.Exists(beside)) return beside;
        }
        var root = SourceTree.FindRoot() ?? throw new FileNotFoundException("the guest agent is not built and no source tree was found");
        var newest = new[] { "Release", "Debug" }
            .Select(config => new FileInfo(Path.Combine(root, "Nerdbox.GuestAgent", "bin", config, "net10.0", "nerdbox-agent.dll")))
            .Where(f => f.Exists).OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault();
        return newest?.FullName ?? throw new FileNotFoundException("the guest agent is not built (dotnet build Nerdbox.GuestAgent)");
    }

    /// <summary>Starts the agent built beside the caller and waits until it listens.</summary>
    public static Task<HostAgent> StartAsync(params string[] extraArgs) => StartAsync(AgentDll(), extraArgs, TimeSpan.FromSeconds(30));

    /// <summary>Starts <paramref name="agent"/> (a .dll, run with dotnet, or the NativeAOT binary) and waits until it listens.</summary>
    public static async Task<HostAgent> StartAsync(string agent, IEnumerable<string> extraArgs, TimeSpan timeout)
    {
        var host = Spawn(agent, extraArgs);
        try
        {
            var deadline = DateTime.UtcNow + timeout;
            while (!host.Log.Contains("listening on", StringComparison.Ordinal))
            {
                if (host._process.HasExited) throw new InvalidOperationException($"the agent exited ({host._process.ExitCode}):\n{host.Log}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"the agent did not listen within {timeout.TotalSeconds:0} s:\n" + host.Log);
                await Task.Delay(20);
            }
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return host;
    }

    /// <summary>
    /// Starts <paramref name="agent"/> without waiting: its <see cref="Client"/> connects as soon as
    /// the socket accepts, so a first call times the agent's start-up.
    /// </summary>
    public static HostAgent Spawn(string agent, IEnumerable<string> extraArgs)
    {
        // Short: a unix socket path has a 108-byte limit.
        var dir = Path.Combine(Path.GetTempPath(), "nb-agent-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var socket = Path.Combine(dir, "agent.sock");
        string[] args = ["--unix", socket, "--state", Path.Combine(dir, "state"), .. extraArgs];
        var psi = agent.EndsWith(".dll", StringComparison.Ordinal) ? new ProcessStartInfo("dotnet", [agent, .. args]) : new ProcessStartInfo(agent, args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        var host = new HostAgent(new Process { StartInfo = psi }, dir, socket);
        void Add(string? line) { if (line is not null) lock (host._lines) host._lines.Add(line); }
        host._process.OutputDataReceived += (_, e) => Add(e.Data);
        host._process.ErrorDataReceived += (_, e) => Add(e.Data);
        host._process.Start();
        host._process.BeginOutputReadLine();
        host._process.BeginErrorReadLine();
        return host;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// The addresses of a workload endpoint the agent was started with (<c>--workload-endpoint ID=PORT</c>),
    /// as it logged them: OTLP/gRPC and OTLP/HTTP base addresses.
    /// </summary>
    public (Uri Grpc, Uri Http) WorkloadEndpoint(string containerId)
    {
        var prefix = $"workload endpoint {containerId}: grpc ";
        var line = Log.Split('\n').FirstOrDefault(l => l.Contains(prefix, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"the agent opened no workload endpoint '{containerId}':\n{Log}");
        var parts = line[(line.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length)..].Split(' ');
        return (new Uri("http://" + parts[0]), new Uri("http://" + parts[2]));
    }

    /// <summary>Connects to the agent's socket, retrying while it is not there yet and the agent runs.</summary>
    private async ValueTask<Stream> ConnectAsync(CancellationToken ct)
    {
        while (true)
        {
            try { return await UnixSocketConnection.ConnectAsync(Socket, ct); }
            catch (SocketException) when (!_process.HasExited) { await Task.Delay(1, ct); }
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
