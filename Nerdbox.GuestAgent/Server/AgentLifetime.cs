namespace Nerdbox.GuestAgent.Server;

/// <summary>When the agent's server is to stop: a Shutdown call in host mode, or SIGTERM or SIGINT to a host process.</summary>
internal sealed class AgentLifetime
{
    private readonly TaskCompletionSource _stopping = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Stopping => _stopping.Task;

    public void Stop() => _stopping.TrySetResult();
}
