using Nerdbox.Api.Contract;
using Nerdbox.Api.System.V1;
using Nerdbox.Engine.Vm;
using Nerdbox.Testing;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// The agent's gRPC server answers a call it cannot serve with a status that names what was wrong, and serves on.
/// The calls go raw over HTTP/2 on the agent's real socket, so that they can be malformed.
/// </summary>
public sealed class AgentCallFaultTests
{
    private const string ProbeClock = "/nerdbox.services.system.v1.System/ProbeClock";
    private const int MaxMessageBytes = AgentChannels.MaxHostMessageBytes;

    public static TheoryData<string, byte[], int, string> MalformedCalls => new()
    {
        { "a method not served", Frame([]), 12, "does not serve /nerdbox.services.system.v1.System/Nope" },
        { "no message", [], 13, "no request message" },
        { "a compressed message", [1, 0, 0, 0, 0], 12, "uncompressed messages only" },
        { "a cut-off message", [0, 0, 0, 0, 9, 1], 13, "exactly one request message" },
        { "two messages", [.. Frame([]), .. Frame([])], 13, "exactly one request message" },
        { "a message that does not decode", Frame([0xff]), 13, "does not decode" },
    };

    [Theory]
    [MemberData(nameof(MalformedCalls))]
    public async Task A_malformed_call_gets_a_status_naming_the_fault_and_the_agent_serves_on(string what, byte[] body, int status, string detail)
    {
        await using var agent = await HostAgent.StartAsync();
        using var http = Http2Client(agent);
        var path = what == "a method not served" ? "/nerdbox.services.system.v1.System/Nope" : ProbeClock;

        var (code, message) = await CallAsync(http, path, body);

        Assert.Equal(status, code);
        Assert.Contains(detail, message);
        await ServesOnAsync(agent);
    }

    [Fact]
    public async Task Every_method_of_the_services_the_agent_serves_is_bound()
    {
        await using var agent = await HostAgent.StartAsync();
        using var http = Http2Client(agent);
        var services = new[]
        {
            Nerdbox.Api.System.V1.System.Descriptor, Nerdbox.Api.Bundle.V1.Bundle.Descriptor,
            Nerdbox.Api.Task.V1.Task.Descriptor, Nerdbox.Api.Traces.V1.Traces.Descriptor,
        };
        var paths = services.SelectMany(s => s.Methods.Select(m => $"/{s.FullName}/{m.Name}")).ToList();
        Assert.Equal(15, paths.Count);

        foreach (var path in paths)
        {
            // A compressed message is refused once the method is found and before its handler runs, so no call
            // changes the agent (Shutdown included); an unbound path would be answered "does not serve".
            var (code, message) = await CallAsync(http, path, [1, 0, 0, 0, 0]);
            Assert.True(code == 12 && message.Contains("uncompressed messages only", StringComparison.Ordinal), $"{path}: status {code}: {message}");
        }
        await ServesOnAsync(agent);
    }

    [Theory]
    [InlineData(true, "bundle names both a rootfs disk and the initramfs's rootfs; give one")]
    [InlineData(false, "no rootfs came in the initramfs (/nerdbox/rootfs)")]
    public async Task A_bundle_whose_rootfs_is_said_to_be_in_the_initramfs_is_refused_by_name_when_it_is_not_there_or_a_disk_is_named_too(bool withDisk, string detail)
    {
        await using var agent = await HostAgent.StartAsync();
        var request = new Nerdbox.Api.Bundle.V1.CreateBundleRequest
        {
            Id = "b",
            RootfsInInitramfs = true,
            Rootfs = withDisk ? new Nerdbox.Api.Bundle.V1.RootfsDisk { Serial = "rootfs", Fstype = "erofs" } : null,
        };
        request.Files["config.json"] = Google.Protobuf.ByteString.CopyFromUtf8("{}");
        var e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await agent.Client.Bundle.CreateAsync(request, deadline: DateTime.UtcNow.AddSeconds(30)));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(detail, e.Status.Detail);
        await ServesOnAsync(agent);
    }

    [Theory]
    [InlineData("0123")]
    [InlineData("0123456789ABCDEF")]
    [InlineData("0000000000000000")]
    [InlineData("0123456789abcdefg")]
    public async Task A_start_span_id_that_names_no_span_is_refused_by_name(string id)
    {
        await using var agent = await HostAgent.StartAsync();
        var e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await agent.Client.Task.CreateAsync(
            new Nerdbox.Api.Task.V1.CreateTaskRequest { Id = "t", BundleId = "b", StartSpanId = id }, deadline: DateTime.UtcNow.AddSeconds(30)));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains($"start_span_id is not 16 lowercase hex digits naming a span ({id.Length} characters)", e.Status.Detail);
        await ServesOnAsync(agent);
    }

    [Fact]
    public async Task A_bad_grpc_timeout_is_named()
    {
        await using var agent = await HostAgent.StartAsync();
        using var http = Http2Client(agent);

        var (code, message) = await CallAsync(http, ProbeClock, Frame([]), ("grpc-timeout", "soon"));

        Assert.Equal(13, code);
        Assert.Contains("grpc-timeout 'soon'", message);
        await ServesOnAsync(agent);
    }

    [Fact]
    public async Task A_message_up_to_the_bound_is_read_whole_and_one_over_it_is_refused_with_the_bound_named()
    {
        await using var agent = await HostAgent.StartAsync();
        using var http = Http2Client(agent);

        // Past Kestrel's default request body limit (30,000,000 bytes) but within the agent's: a bundle's size.
        var (code, message) = await CallAsync(http, ProbeClock, Frame(UnknownField(31_000_000)));
        Assert.True(code == 0, $"status {code}: {message}");

        (code, message) = await CallAsync(http, ProbeClock, Frame(UnknownField(MaxMessageBytes + 1)));
        Assert.Equal(8, code);
        Assert.Contains($"larger than {MaxMessageBytes} bytes", message);
        await ServesOnAsync(agent);
    }

    private static async Task ServesOnAsync(HostAgent agent)
    {
        var info = await agent.Client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.False(string.IsNullOrEmpty(info.AgentVersion));
    }

    private static HttpClient Http2Client(HostAgent agent) => new(new SocketsHttpHandler
    {
        ConnectCallback = (_, ct) => UnixSocketConnection.ConnectAsync(agent.Socket, ct),
    })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private static Task<(int Code, string Message)> CallAsync(HttpClient http, string path, byte[] body, params (string Name, string Value)[] headers) =>
        RawGrpcFrames.CallAsync(http, "http://agent", path, body, headers);

    private static byte[] Frame(byte[] message) => RawGrpcFrames.Frame(message);

    /// <summary>A protobuf message of <paramref name="size"/> bytes made of one unknown length-delimited field (15), which a parser keeps and ignores.</summary>
    private static byte[] UnknownField(int size)
    {
        var message = new byte[size];
        message[0] = (15 << 3) | 2;
        var at = 1;
        var length = (uint)(size - 1 - VarintLength((uint)size));
        for (var v = length; ; v >>= 7)
        {
            if (v < 0x80) { message[at++] = (byte)v; break; }
            message[at++] = (byte)(v | 0x80);
        }
        if (at + length != size) throw new InvalidOperationException("the varint's length was misjudged");
        return message;
    }

    private static int VarintLength(uint v) => v < 1 << 7 ? 1 : v < 1 << 14 ? 2 : v < 1 << 21 ? 3 : v < 1 << 28 ? 4 : 5;
}
