using System.Net;
using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Service;

/// <summary>
/// Who can reach the shim's HTTP side, over real sockets: loopback only unless the operator opts in, and
/// a request that starts work (the sample run) from another address needs the work key. A non-loopback
/// caller is this machine's own network address, bound as the client's source address.
/// </summary>
public sealed class HttpExposureTests
{
    private const string Key = "a-work-key-for-the-exposure-tests-0123456789";

    // A backend that does not exist: the shim never prepares a VM, and nothing here needs one.
    private static readonly Dictionary<string, string> NoVm = new() { ["Nerdbox__Backend"] = "no-such-backend" };

    [Theory]
    [InlineData("ASPNETCORE_URLS")]
    [InlineData("HTTP_PORTS")]
    public async Task By_default_the_HTTP_side_listens_on_loopback_only_even_when_told_any_address(string setting)
    {
        var outside = NonLoopbackAddress() ?? Skip();
        await using var scratch = new VmScratch();
        var port = ShimProcess.FreePort();
        var env = new Dictionary<string, string>(NoVm)
        {
            ["ASPNETCORE_URLS"] = setting == "ASPNETCORE_URLS" ? $"http://*:{port}" : "",
            ["HTTP_PORTS"] = setting == "HTTP_PORTS" ? $"{port}" : "",
        };
        await using var shim = ShimProcess.Start(scratch.StateRoot, env);
        using var local = Client(IPAddress.Loopback, IPAddress.Loopback, port);
        await WaitListeningAsync(local, shim);

        using var remote = Client(outside, outside, port);
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => remote.GetAsync("/health", TestContext.Current.CancellationToken));
        Assert.Equal(HttpRequestError.ConnectionError, e.HttpRequestError);
        Assert.Contains("asks for a non-loopback address; listening on 127.0.0.1", shim.Log);
    }

    [Fact]
    public async Task Opted_in_a_non_loopback_sample_run_needs_the_key_and_loopback_does_too_once_a_key_is_set()
    {
        var outside = NonLoopbackAddress() ?? Skip();
        await using var scratch = new VmScratch();
        var port = ShimProcess.FreePort();
        await using var shim = ShimProcess.Start(scratch.StateRoot, new Dictionary<string, string>(NoVm)
        {
            ["ASPNETCORE_URLS"] = $"http://*:{port}",
            ["Nerdbox__Http__ListenAnyAddress"] = "true",
            ["Nerdbox__Http__WorkKey"] = Key,
        });
        using var remote = Client(outside, outside, port);
        await WaitListeningAsync(remote, shim);
        Assert.Contains("HTTP IS OPEN BEYOND THIS MACHINE", shim.Log);

        var none = await PostAsync(remote, null);
        Assert.Equal(HttpStatusCode.Unauthorized, none.Status);
        Assert.Contains("needs the work key", none.Body);
        var wrong = await PostAsync(remote, Key[..^1] + "X");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Contains("the work key is wrong", wrong.Body);
        // Health starts nothing and stays open.
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await remote.GetAsync("/health", TestContext.Current.CancellationToken)).StatusCode);

        // With the key the request gets past the check: its bad body is what is refused, by field.
        var keyed = await PostAsync(remote, Key);
        Assert.True(keyed.Status == HttpStatusCode.BadRequest, $"{keyed.Status}: {keyed.Body}");
        Assert.True(JsonDocument.Parse(keyed.Body).RootElement.GetProperty("errors").TryGetProperty("cpus", out _), keyed.Body);

        // A body far larger than the few fields it holds is refused on its declared length, before any of it is
        // read: the client asks first (Expect: 100-continue), so the answer is 413 and no body is ever sent. (A
        // client that sends the body regardless races the server's close, and may see a reset instead.)
        using (var big = new HttpRequestMessage(HttpMethod.Post, "/samples/run") { Content = new StringContent(new string(' ', 1 << 20), Encoding.UTF8, "application/json") })
        {
            big.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            big.Headers.ExpectContinue = true;
            using var response = await remote.SendAsync(big, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("at most 16384 bytes", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        // Once a key is configured, loopback callers need it too.
        using var local = Client(IPAddress.Loopback, IPAddress.Loopback, port);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(local, null)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(local, Key)).Status);
        Assert.Contains($"from {outside}", shim.Log);
    }

    [Fact]
    public async Task Opted_in_without_a_key_only_loopback_callers_may_start_work()
    {
        var outside = NonLoopbackAddress() ?? Skip();
        await using var scratch = new VmScratch();
        var port = ShimProcess.FreePort();
        await using var shim = ShimProcess.Start(scratch.StateRoot, new Dictionary<string, string>(NoVm)
        {
            ["ASPNETCORE_URLS"] = $"http://*:{port}",
            ["Nerdbox__Http__ListenAnyAddress"] = "true",
        });
        using var remote = Client(outside, outside, port);
        await WaitListeningAsync(remote, shim);
        Assert.Contains("are refused: no work key is configured", shim.Log);

        var refused = await PostAsync(remote, "any-key-at-all");
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("only loopback callers may start work", refused.Body);

        using var local = Client(IPAddress.Loopback, IPAddress.Loopback, port);
        var passed = await PostAsync(local, null);
        Assert.True(passed.Status == HttpStatusCode.BadRequest, $"{passed.Status}: {passed.Body}");
    }

    [Fact]
    public async Task The_task_API_on_TCP_listens_on_loopback_only_even_when_HTTP_is_opened()
    {
        var outside = NonLoopbackAddress() ?? Skip();
        await using var scratch = new VmScratch();
        var port = ShimProcess.FreePort();
        await using var shim = ShimProcess.Start(scratch.StateRoot, new Dictionary<string, string>(NoVm)
        {
            ["ASPNETCORE_URLS"] = $"http://*:{port}",
            ["Nerdbox__Http__ListenAnyAddress"] = "true",
        });
        using var local = Client(IPAddress.Loopback, IPAddress.Loopback, port);
        await WaitListeningAsync(local, shim);

        using var onLoopback = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await onLoopback.ConnectAsync(new IPEndPoint(IPAddress.Loopback, shim.TaskApiPort), TestContext.Current.CancellationToken);
        using var fromOutside = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var e = await Assert.ThrowsAsync<SocketException>(async () =>
            await fromOutside.ConnectAsync(new IPEndPoint(outside, shim.TaskApiPort), TestContext.Current.CancellationToken));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Theory]
    [InlineData("Http1AndHttp2")]
    [InlineData("Http2")]
    public async Task The_task_API_is_not_served_on_the_HTTP_port_whatever_protocol_it_speaks(string protocols)
    {
        await using var scratch = new VmScratch();
        var port = ShimProcess.FreePort();
        await using var shim = ShimProcess.Start(scratch.StateRoot, new Dictionary<string, string>(NoVm)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            // HTTP/2 cleartext on the HTTP port too: the listener alone must keep the task API off it.
            ["Kestrel__EndpointDefaults__Protocols"] = protocols,
        });
        var ct = TestContext.Current.CancellationToken;
        using var taskApi = shim.TaskApiChannel();
        var state = new Api.Shim.V1.StateRequest { Id = "nothing-here" };
        // On its own port the task API answers (NotFound for a task that does not exist)...
        var deadline = DateTime.UtcNow.AddSeconds(90);
        Grpc.Core.RpcException answered;
        while (true)
        {
            answered = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await new Api.Shim.V1.Task.TaskClient(taskApi).StateAsync(state, cancellationToken: ct));
            if (answered.StatusCode != Grpc.Core.StatusCode.Unavailable || DateTime.UtcNow > deadline) break;
            await Task.Delay(250, ct);
        }
        Assert.True(answered.StatusCode == Grpc.Core.StatusCode.NotFound, $"{answered.Status}\n{shim.Log}");
        // ...on the HTTP port, which may be opened beyond loopback, it does not: no task can be created there.
        using var httpPort = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await new Api.Shim.V1.Task.TaskClient(httpPort).StateAsync(state, cancellationToken: ct));
        if (protocols == "Http2") Assert.Equal(Grpc.Core.StatusCode.Unimplemented, refused.StatusCode); // the 404 of a gRPC call off its listener
        else Assert.NotEqual(Grpc.Core.StatusCode.NotFound, refused.StatusCode);
    }

    private static IPAddress Skip()
    {
        Assert.Skip("this machine has no non-loopback IPv4 address to call from");
        return null!;
    }

    /// <summary>An up interface's IPv4 address that is not loopback, or null.</summary>
    private static IPAddress? NonLoopbackAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    /// <summary>A client whose connections leave from <paramref name="source"/>, to <paramref name="server"/>:<paramref name="port"/>.</summary>
    private static HttpClient Client(IPAddress source, IPAddress server, int port) => new(new SocketsHttpHandler
    {
        // A request that asks before sending its body waits for the answer, however loaded the machine.
        Expect100ContinueTimeout = TimeSpan.FromSeconds(60),
        ConnectCallback = async (context, ct) =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                s.Bind(new IPEndPoint(source, 0));
                await s.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct);
                return new NetworkStream(s, ownsSocket: true);
            }
            catch
            {
                s.Dispose();
                throw;
            }
        },
    }) { BaseAddress = new Uri($"http://{server}:{port}") };

    private static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient client, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/samples/run")
        {
            Content = new StringContent("""{"cpus":0}""", Encoding.UTF8, "application/json"),
        };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>Waits until the shim answers HTTP through <paramref name="client"/> (any status: it never becomes ready here).</summary>
    private static async Task WaitListeningAsync(HttpClient client, ShimProcess shim)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var r = await client.GetAsync("/health", TestContext.Current.CancellationToken);
                return;
            }
            catch (HttpRequestException) { await Task.Delay(250, TestContext.Current.CancellationToken); }
        }
        throw new TimeoutException($"the shim did not answer HTTP within 90 s:\n{shim.Log}");
    }
}
