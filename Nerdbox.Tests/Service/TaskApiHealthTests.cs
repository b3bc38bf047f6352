using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Service;

/// <summary>The task API serves grpc.health.v1 (as grpc_health_probe asks it) and server reflection (as grpcurl lists it).</summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class TaskApiHealthTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task Health_Check_says_SERVING_once_the_shim_can_boot_VMs_and_reflection_lists_the_services()
    {
        await fixture.ImageAsync();
        await using var scratch = new VmScratch();
        await using var shim = ShimProcess.Start(scratch.StateRoot);
        await shim.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        using var channel = shim.TaskApiChannel();
        var ct = TestContext.Current.CancellationToken;

        var health = new Health.HealthClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: ct)).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = "nerdbox.shim.v1.Task" }, cancellationToken: ct)).Status);
        var unknown = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }, cancellationToken: ct));
        Assert.Equal(Grpc.Core.StatusCode.NotFound, unknown.StatusCode);

        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(ct));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("nerdbox.shim.v1.Task", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task Health_Check_says_NOT_SERVING_with_the_reason_while_the_shim_cannot_boot_VMs()
    {
        await using var scratch = new VmScratch();
        // A backend that does not exist: the shim never becomes ready, and /health says why.
        await using var shim = ShimProcess.Start(scratch.StateRoot, new Dictionary<string, string> { ["Nerdbox__Backend"] = "no-such-backend" });
        using var channel = shim.TaskApiChannel();
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HealthCheckResponse? response = null;
        while (DateTime.UtcNow < deadline && response is null)
        {
            try { response = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: TestContext.Current.CancellationToken); }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable) { await Task.Delay(250); }
        }
        Assert.NotNull(response);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, response.Status);
    }
}
