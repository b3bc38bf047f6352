using System.Diagnostics;
using Nerdbox.Api.System.V1;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Native;
using Nerdbox.Api.Contract;

namespace Nerdbox.Tests.Libkrun;

/// <summary>
/// The guest agent's vsock listener (what a libkrun guest serves on), run as a host process with
/// <c>--channel vsock:PORT</c>. What it can do depends on this host's kernel: without a vsock
/// transport it must fail at once with the reason; with one it binds and serves.
/// </summary>
public sealed class GuestVsockListenerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static string AgentDll()
    {
        // Built next to the tests: the same configuration and framework folders under the agent's project.
        var testBin = AppContext.BaseDirectory.TrimEnd('/');
        var dll = Path.Combine(testBin.Replace("/Nerdbox.Tests/bin/", "/Nerdbox.GuestAgent/bin/"), "nerdbox-agent.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("the guest agent is not built", dll);
    }

    private static uint RandomPort() => (uint)Random.Shared.Next(20000, 60000);

    /// <summary>Whether this kernel makes AF_VSOCK sockets at all.</summary>
    private static bool HostMakesVsockSockets(out string reason)
    {
        var fd = Libc.Socket(SockaddrVm.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            reason = Libc.LastErrorText();
            return false;
        }
        Libc.Close(fd);
        reason = "";
        return true;
    }

    /// <summary>Holds a vsock port (any CID) so that the agent cannot bind it.</summary>
    private static unsafe int HoldPort(uint port)
    {
        var fd = Libc.Socket(SockaddrVm.AF_VSOCK, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        var address = SockaddrVm.For(SockaddrVm.CidAny, port);
        if (fd < 0 || Libc.Bind(fd, &address, sizeof(SockaddrVm)) != 0 || Libc.Listen(fd, 1) != 0)
            throw new IOException("cannot hold vsock port " + port + ": " + Libc.LastErrorText());
        return fd;
    }

    private sealed class Agent : IAsyncDisposable
    {
        private readonly List<string> _lines = [];
        public required Process Process { get; init; }
        public required string StateDir { get; init; }
        public string Log { get { lock (_lines) return string.Join('\n', _lines); } }

        public static Agent Start(uint port)
        {
            var state = Path.Combine(Path.GetTempPath(), "nerdbox-tests", "agent-" + Guid.NewGuid().ToString("N")[..12]);
            var psi = new ProcessStartInfo("dotnet", [AgentDll(), "--channel", $"vsock:{port}", "--state", state])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            var agent = new Agent { Process = new Process { StartInfo = psi }, StateDir = state };
            void Add(string? line) { if (line is not null) lock (agent._lines) agent._lines.Add(line); }
            agent.Process.OutputDataReceived += (_, e) => Add(e.Data);
            agent.Process.ErrorDataReceived += (_, e) => Add(e.Data);
            agent.Process.Start();
            agent.Process.BeginOutputReadLine();
            agent.Process.BeginErrorReadLine();
            return agent;
        }

        public async Task<int> ExitCodeAsync(TimeSpan within)
        {
            using var cts = new CancellationTokenSource(within);
            await Process.WaitForExitAsync(cts.Token);
            Process.WaitForExit(); // drains the output
            return Process.ExitCode;
        }

        public async Task WaitForLineAsync(string text, TimeSpan within)
        {
            var deadline = DateTime.UtcNow + within;
            while (!Log.Contains(text, StringComparison.Ordinal))
            {
                if (Process.HasExited) throw new InvalidOperationException($"the agent exited ({Process.ExitCode}):\n{Log}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"no '{text}' from the agent within {within}:\n{Log}");
                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }
            Process.Dispose();
            try { Directory.Delete(StateDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task Agent_on_vsock_serves_or_exits_at_once_with_the_reason()
    {
        var port = RandomPort();
        await using var agent = Agent.Start(port);
        if (!HostMakesVsockSockets(out var reason))
        {
            // No vsock transport in this kernel: a clear failure, promptly.
            var code = await agent.ExitCodeAsync(Patience);
            Assert.NotEqual(0, code);
            Assert.Contains("vsock socket", agent.Log);
            Assert.Contains("no vsock transport", agent.Log);
            return;
        }

        // This kernel has a vsock transport (a VM host's guest side, as here): the agent binds and keeps serving.
        await agent.WaitForLineAsync($"listening on vsock:{port}", Patience);
        await Task.Delay(300);
        Assert.False(agent.Process.HasExited, agent.Log);

        // Loopback (vsock_loopback, CID 1) lets the host reach it; without it, binding is all that can be shown here.
        using var connectTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        Stream stream;
        try
        {
            stream = await VsockConnection.ConnectAsync(1, port, connectTimeout.Token).AsTask().WaitAsync(connectTimeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            TestContext.Current.SendDiagnosticMessage($"vsock loopback unavailable here ({e.Message}); the agent bound vsock:{port} and kept running");
            return;
        }
        await stream.DisposeAsync();
        using var client = new AgentClient(ct => VsockConnection.ConnectAsync(1, port, ct));
        var info = await client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal($"vsock:{port}", info.Channel);
    }

    [Fact]
    public async Task Agent_exits_with_the_reason_when_its_vsock_port_is_taken()
    {
        if (!HostMakesVsockSockets(out var reason)) Assert.Skip("this kernel makes no vsock sockets: " + reason);
        var port = RandomPort();
        var held = HoldPort(port);
        try
        {
            await using var agent = Agent.Start(port);
            var code = await agent.ExitCodeAsync(Patience);
            Assert.NotEqual(0, code);
            Assert.Contains($"vsock bind/listen on port {port}", agent.Log);
        }
        finally
        {
            Libc.Close(held);
        }
    }
}
