using Task = System.Threading.Tasks.Task;
using Grpc.Core;
using Nerdbox.Api.System.V1;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// The agent's first reply: a clock probe (which the guest answers without tracing), repeated while
/// the channel refuses, and failing with the console's last lines when the VM stops or the time runs out.
/// </summary>
internal static class AgentFirstReply
{
    /// <summary>The first round trip: a clock probe, which the guest answers without tracing.</summary>
    public static async Task WaitAsync(IVmInstance vm, AgentClient agent, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var deadline = DateTime.UtcNow + timeout;
        var call = agent.System.ProbeClockAsync(new ProbeClockRequest(), deadline: deadline, cancellationToken: cts.Token);
        call = await RetryWhileUnavailableAsync(vm, agent, call, deadline, cts.Token);
        var first = await Task.WhenAny(call.ResponseAsync, vm.Exited);
        if (first == vm.Exited)
        {
            cts.Cancel();
            var exit = await vm.Exited;
            throw new VmException($"the VM stopped before its agent answered ({exit.Description})\n{vm.ConsoleTail()}");
        }
        try
        {
            await call.ResponseAsync;
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.Unavailable)
        {
            if (ct.IsCancellationRequested) throw new OperationCanceledException(ct);
            throw new VmException($"the guest agent did not answer within {timeout.TotalSeconds:0.#}s ({e.Status.Detail})\n{vm.ConsoleTail()}");
        }
    }

    /// <summary>
    /// A vsock channel refuses (or, through libkrun's socket, drops) connections until the guest
    /// agent listens; a virtio-serial port's socket can exist a moment before QEMU listens on it; and
    /// a port the agent opened before the host attached reads as closed, so the agent may end that
    /// first connection (a GOAWAY) just as the host's bytes arrive. So the first probe, which changes
    /// nothing in the guest, is repeated on a fresh connection while the connection fails and the VM runs.
    /// </summary>
    private static async Task<AsyncUnaryCall<ProbeClockResponse>> RetryWhileUnavailableAsync(IVmInstance vm, AgentClient agent,
        AsyncUnaryCall<ProbeClockResponse> call, DateTime deadline, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                await call.ResponseAsync.WaitAsync(ct);
                return call;
            }
            catch (RpcException e) when (IsConnectionFailure(e) && DateTime.UtcNow < deadline && !vm.Exited.IsCompleted)
            {
                call.Dispose();
                await Task.Delay(10, ct);
                call = agent.System.ProbeClockAsync(new ProbeClockRequest(), deadline: deadline, cancellationToken: ct);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException)
            {
                return call;
            }
        }
    }

    /// <summary>The call never reached the agent's handler: the channel refused, or the agent's HTTP/2 connection ended under it.</summary>
    private static bool IsConnectionFailure(RpcException e)
    {
        if (e.StatusCode == StatusCode.Unavailable) return true;
        if (e.StatusCode != StatusCode.Internal) return false;
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
            if (inner is HttpProtocolException or HttpIOException) return true;
        return false;
    }
}
