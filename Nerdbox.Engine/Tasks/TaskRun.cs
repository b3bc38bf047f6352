using System.Diagnostics;
using Nerdbox.Telemetry;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Relay;

namespace Nerdbox.Engine.Tasks;

/// <summary>One container run start to finish (create, start, wait, delete) under one root span, as the run verb, the benchmark and the sample endpoint do it.</summary>
public static class TaskRun
{
    public sealed record Outcome(int ExitStatus, BootPhases Phases, string TraceId, byte[] Stdout, byte[] Stderr, string Backend, Api.System.V1.InfoResponse? Agent, RelayStats? Relay);

    public static async Task<Outcome> RunAsync(string id, string bundle, VmTaskOptions options,
        Action<bool, ReadOnlyMemory<byte>>? onOutput = null, string rootSpanName = "shim.Run", CancellationToken ct = default)
    {
        using var root = ShimTracing.Source.StartActivity(rootSpanName, ActivityKind.Internal, parentContext: default);
        root?.SetTag("nerdbox.bundle.path", bundle);
        root?.SetTag("container.id", id);
        try
        {
            await using var task = await VmTask.CreateAsync(id, bundle, options, ct);
            if (onOutput is not null) task.Output.Received += onOutput;
            await task.StartAsync(ct);
            var (status, _) = await task.WaitAsync(ct);
            await task.DeleteAsync(ct);
            root?.SetTag("process.exit.code", status);
            return new Outcome(status, task.Phases, root?.TraceId.ToString() ?? "", task.Output.Stdout(), task.Output.Stderr(), task.Backend, task.AgentInfo, task.Relay?.Stats);
        }
        catch (Exception e)
        {
            root.Fail(e);
            throw;
        }
    }
}
