using System.Diagnostics;
using Nerdbox.Api.System.V1;
using Nerdbox.Shim.Agent;
using Nerdbox.Shim.Vm;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// The guest agent's own start-up, apart from the VM: the image's NativeAOT agent binary spawned as a
/// host process on a unix socket, timed from spawn to its first gRPC reply.
/// </summary>
public static class AgentSpawnBench
{
    public static async Task<List<TimeSpan>> MeasureAsync(string agentBinary, int count, CancellationToken ct)
    {
        var times = new List<TimeSpan>();
        for (var i = 0; i < count; i++)
        {
            var dir = Path.Combine(Path.GetTempPath(), $"nerdbox-agent-bench-{Environment.ProcessId}-{i}");
            Directory.CreateDirectory(dir);
            var socket = Path.Combine(dir, "agent.sock");
            var psi = new ProcessStartInfo(agentBinary, ["--unix", socket, "--state", Path.Combine(dir, "state")])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            var sw = Stopwatch.StartNew();
            using var process = Process.Start(psi)!;
            try
            {
                using var agent = new AgentClient(async c =>
                {
                    // The socket appears once the agent listens; until then, retry quickly.
                    while (true)
                    {
                        try { return await UnixSocketConnection.ConnectAsync(socket, c); }
                        catch (System.Net.Sockets.SocketException) when (!process.HasExited) { await Task.Delay(1, c); }
                    }
                });
                await agent.System.ProbeClockAsync(new ProbeClockRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);
                times.Add(sw.Elapsed);
            }
            finally
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None);
                Directory.Delete(dir, true);
            }
        }
        return times;
    }
}
