using Task = System.Threading.Tasks.Task;
using Grpc.Core;
using Nerdbox.Api.Task.V1;
using Nerdbox.Engine.Agent;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Engine.Tasks;

/// <summary>
/// The container's stdout and stderr from the guest: one Output stream, attached before the
/// container is created, read into <see cref="OutputCapture"/> until the task ends.
/// </summary>
internal sealed class TaskOutputPump(string taskId, OutputCapture output, BootPhases phases) : IDisposable
{
    private readonly CancellationTokenSource _lifetime = new();
    private AsyncServerStreamingCall<OutputChunk>? _call;
    private Task _pump = Task.CompletedTask;

    /// <summary>Opens the stream and starts reading; fails when the guest does not attach it within <paramref name="timeout"/>.</summary>
    public async Task AttachAsync(AgentClient agent, TimeSpan timeout, CancellationToken ct)
    {
        _call = agent.Task.Output(new TaskOutputRequest { Id = taskId }, cancellationToken: _lifetime.Token);
        using var attach = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attach.CancelAfter(timeout);
        try
        {
            await _call.ResponseHeadersAsync.WaitAsync(attach.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new VmException($"the guest agent did not attach task '{taskId}' output within {timeout.TotalSeconds:0.#}s");
        }
        var stream = _call.ResponseStream;
        _pump = Task.Run(async () =>
        {
            try
            {
                while (await stream.MoveNext(_lifetime.Token))
                {
                    var chunk = stream.Current;
                    phases.MarkFirstOutput();
                    output.Add(chunk.Stream == OutputStream.Stderr, chunk.Data.Memory, chunk.DroppedBytes);
                }
            }
            catch (RpcException) { /* the VM went away; Wait reports it */ }
            catch (OperationCanceledException) { }
        });
    }

    /// <summary>Waits until the guest closed the stream (all output read), at most <paramref name="timeout"/>.</summary>
    public Task WaitForEndAsync(TimeSpan timeout) => Task.WhenAny(_pump, Task.Delay(timeout, CancellationToken.None));

    public void Dispose()
    {
        _lifetime.Cancel();
        _call?.Dispose();
        _lifetime.Dispose();
    }
}
