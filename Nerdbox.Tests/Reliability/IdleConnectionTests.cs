using System.Net.Sockets;
using System.Text;
using Nerdbox.Api.System.V1;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.Vm;
using Nerdbox.Testing;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// The agent's connections outlive a pause, over real sockets: the host channel's one HTTP/2 connection between
/// calls (a virtio-serial port carries exactly one, so a GOAWAY there costs a reconnect the port cannot tell from
/// a detach), and a container's OTLP/HTTP connection whose request comes late (a loaded guest is slow to send it).
/// The pause spans several of the server's once-a-second timeout checks.
/// </summary>
public sealed class IdleConnectionTests
{
    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task The_host_channel_connection_stays_open_between_calls_however_long_the_pause()
    {
        await using var agent = await HostAgent.StartAsync();
        var connects = 0;
        using var client = new AgentClient(async ct =>
        {
            Interlocked.Increment(ref connects);
            return await UnixSocketConnection.ConnectAsync(agent.Socket, ct);
        });
        var ct = TestContext.Current.CancellationToken;

        await client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);
        await Task.Delay(Pause, ct);
        await client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct);

        Assert.True(connects == 1, $"the client connected {connects} times: the agent ended the idle connection\n{agent.Log}");
    }

    [Fact]
    public async Task A_workload_request_that_comes_late_on_its_connection_is_still_answered()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "late=0");
        var (_, http) = agent.WorkloadEndpoint("late");
        var ct = TestContext.Current.CancellationToken;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(http.Host, http.Port, ct);

        await Task.Delay(Pause, ct);
        var request = $"POST /v1/traces HTTP/1.1\r\nHost: {http.Authority}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), ct);
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        int n;
        while ((n = await socket.ReceiveAsync(buffer, timeout.Token)) > 0) answer.Write(buffer, 0, n);

        var text = Encoding.ASCII.GetString(answer.ToArray());
        Assert.True(text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal), $"answer: '{text}'\n{agent.Log}");
    }
}
