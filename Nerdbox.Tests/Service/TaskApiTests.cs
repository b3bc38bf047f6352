using Status = Nerdbox.Api.Shim.V1.Status;
using Task = System.Threading.Tasks.Task;
using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Nerdbox.Api.Shim.V1;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Service;

/// <summary>The shim's task API, served by a real shim process over gRPC on loopback TCP.</summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class TaskApiTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task Create_start_wait_delete_runs_the_container_and_joins_the_callers_trace()
    {
        await fixture.ImageAsync();
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("api", "sh", "-c", "echo via-task-api; exit 3");
        await using (var shim = ShimProcess.Start(scratch.StateRoot))
        {
            await shim.WaitHealthyAsync(TimeSpan.FromSeconds(120));
            using var channel = shim.TaskApiChannel();
            var client = new Api.Shim.V1.Task.TaskClient(channel);
            var traceId = ActivityTraceId.CreateRandom();
            var headers = new Metadata { { "traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01" } };

            var created = await client.CreateAsync(new CreateRequest { Id = "api-task", Bundle = bundle }, headers);
            Assert.Equal(traceId.ToString(), created.TraceId);
            Assert.True(created.Pid > 0);
            Assert.Equal(Status.Created, (await client.StateAsync(new StateRequest { Id = "api-task" })).Status);

            await client.StartAsync(new StartRequest { Id = "api-task" }, headers);
            var waited = await client.WaitAsync(new WaitRequest { Id = "api-task" }, headers);
            Assert.Equal(3, waited.ExitStatus);
            var state = await client.StateAsync(new StateRequest { Id = "api-task" });
            Assert.Equal(Status.Stopped, state.Status);
            Assert.Equal("via-task-api\n", Encoding.UTF8.GetString(state.Stdout.Span));
            Assert.StartsWith("qemu/", state.Backend);

            var deleted = await client.DeleteAsync(new DeleteRequest { Id = "api-task" }, headers);
            Assert.Equal(3, deleted.ExitStatus);
            Assert.Equal(traceId.ToString(), deleted.TraceId);
            var e = await Assert.ThrowsAsync<RpcException>(async () => await client.StateAsync(new StateRequest { Id = "api-task" }));
            Assert.Equal(StatusCode.NotFound, e.StatusCode);

            var bad = await Assert.ThrowsAsync<RpcException>(async () =>
                await client.CreateAsync(new CreateRequest { Id = "bad", Bundle = Path.Combine(scratch.Root, "missing") }));
            Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
            Assert.Contains("is not a directory", bad.Status.Detail);
        }
    }

    [Fact]
    public async Task By_default_the_task_API_is_a_unix_socket_only_its_owner_may_use()
    {
        await fixture.ImageAsync();
        await using var scratch = new VmScratch();
        var socket = Path.Combine(scratch.Root, "shim.sock");
        await using var shim = ShimProcess.Start(scratch.StateRoot, taskApiSocket: socket);
        await shim.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://localhost", new Grpc.Net.Client.GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectCallback = (_, ct) => Nerdbox.Engine.Vm.UnixSocketConnection.ConnectAsync(socket, ct) },
        });
        var client = new Api.Shim.V1.Task.TaskClient(channel);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.StateAsync(new StateRequest { Id = "nothing-here" }));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("no task 'nothing-here'", e.Status.Detail);
    }
}
