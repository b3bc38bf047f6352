using System.Diagnostics;
using Nerdbox.Api.System.V1;
using Nerdbox.Testing;

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
            var sw = Stopwatch.StartNew();
            await using var agent = HostAgent.Spawn(agentBinary, []);
            await agent.Client.System.ProbeClockAsync(new ProbeClockRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);
            times.Add(sw.Elapsed);
        }
        return times;
    }
}
