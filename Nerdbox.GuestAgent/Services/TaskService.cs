using Task = System.Threading.Tasks.Task;
using TaskStatus = Nerdbox.Api.Task.V1.TaskStatus;
using System.Diagnostics;
using System.Collections.Concurrent;
using Grpc.Core;
using Nerdbox.Api.Contract;
using Nerdbox.Api.Task.V1;
using Nerdbox.GuestAgent.Bundles;
using Nerdbox.GuestAgent.Tasks;
using Nerdbox.GuestAgent.Tracing;
using Nerdbox.GuestAgent.Workload;

namespace Nerdbox.GuestAgent.Services;

/// <summary>The guest's task service: one crun container per task id.</summary>
internal sealed class TaskService(BundleStore bundles, AgentOptions options, WorkloadEndpoints workloadEndpoints) : Api.Task.V1.Task.TaskBase
{
    /// <summary>Output buffers that exist before their task, so that the host can attach to the output first.</summary>
    public const int MaxPendingOutputs = 64;

    private readonly ConcurrentDictionary<string, Container> _containers = new();
    private readonly ConcurrentDictionary<string, OutputBuffer> _outputs = new();

    private OutputBuffer OutputFor(string id)
    {
        BundleStore.ValidateId(id);
        if (!_outputs.ContainsKey(id) && _outputs.Count >= MaxPendingOutputs)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"more than {MaxPendingOutputs} task outputs are open"));
        return _outputs.GetOrAdd(id, _ => new OutputBuffer());
    }

    public override async Task<CreateTaskResponse> Create(CreateTaskRequest request, ServerCallContext context)
    {
        using var span = GuestTracing.Source.StartActivity("task.Create");
        span?.SetTag("container.id", request.Id);
        BundleStore.ValidateId(request.Id);
        BundleStore.ValidateId(request.BundleId);
        var startSpanId = StartSpanId(request.StartSpanId);
        var path = bundles.PathOf(request.BundleId);
        if (!File.Exists(Path.Combine(path, "config.json")))
            throw new RpcException(new Status(StatusCode.NotFound, $"bundle '{request.BundleId}' was not created"));
        var container = new Container(request.Id, path, options.CrunPath, options.CrunRoot, OutputFor(request.Id));
        if (!_containers.TryAdd(request.Id, container))
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"task '{request.Id}' exists already"));
        try
        {
            // The host chose the start span's id and named it in the container's TRACEPARENT.
            if (startSpanId is { } id && span is { Recorded: true }) container.ChosenStartSpan = (id, span.Context);
            await container.CreateAsync();
            if (request.WorkloadEndpoint) OpenWorkloadEndpoint(container, span);
        }
        catch (Exception e)
        {
            _containers.TryRemove(request.Id, out _);
            GuestTracing.RecordError(span, e);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        return new CreateTaskResponse { Pid = (uint)container.Pid };
    }

    /// <summary>The start span's id the host chose: empty for none, else 16 lowercase hex digits, not all zero.</summary>
    private static ActivitySpanId? StartSpanId(string given)
    {
        if (given.Length == 0) return null;
        if (given.Length != 16 || !given.All(char.IsAsciiHexDigitLower) || given.All(c => c == '0'))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"start_span_id is not 16 lowercase hex digits naming a span ({given.Length} characters)"));
        return ActivitySpanId.CreateFromString(given);
    }

    /// <summary>
    /// Opens the container's endpoint inside its network namespace, between create and start. A failure leaves the
    /// container without one (its exports will fail) and says so on the span, but does not fail the create.
    /// </summary>
    private void OpenWorkloadEndpoint(Container container, Activity? span)
    {
        try
        {
            var broughtUp = workloadEndpoints.OpenInNamespace(container.Id, $"/proc/{container.Pid}/ns/net");
            span?.SetTag("nerdbox.workload.endpoint", GuestBundleLayout.WorkloadEndpointDescription);
            if (broughtUp) span?.SetTag("nerdbox.workload.loopback_brought_up", true);
        }
        catch (Exception e)
        {
            span?.SetTag("nerdbox.workload.endpoint", "none: " + e.Message);
            span?.AddEvent(new ActivityEvent("exception", tags: new ActivityTagsCollection
            {
                ["exception.type"] = e.GetType().FullName,
                ["exception.message"] = e.Message,
            }));
        }
    }

    public override async Task<StartTaskResponse> Start(StartTaskRequest request, ServerCallContext context)
    {
        using var span = GuestTracing.Source.StartActivity("task.Start");
        span?.SetTag("container.id", request.Id);
        var container = Get(request.Id);
        try
        {
            await container.StartAsync();
        }
        catch (Exception e)
        {
            GuestTracing.RecordError(span, e);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        return new StartTaskResponse { Pid = (uint)container.Pid };
    }

    public override async Task<WaitTaskResponse> Wait(WaitTaskRequest request, ServerCallContext context)
    {
        using var span = GuestTracing.Source.StartActivity("task.Wait");
        span?.SetTag("container.id", request.Id);
        var container = Get(request.Id);
        var (status, at) = await container.Exited.WaitAsync(context.CancellationToken);
        span?.SetTag("process.exit.code", status);
        return new WaitTaskResponse { ExitStatus = status, ExitedAtUnixNano = at };
    }

    public override async Task<KillTaskResponse> Kill(KillTaskRequest request, ServerCallContext context)
    {
        var container = Get(request.Id);
        try
        {
            await container.KillAsync(request.Signal == 0 ? 15u : request.Signal);
        }
        catch (CrunException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        return new KillTaskResponse();
    }

    public override async Task<DeleteTaskResponse> Delete(DeleteTaskRequest request, ServerCallContext context)
    {
        using var span = GuestTracing.Source.StartActivity("task.Delete");
        span?.SetTag("container.id", request.Id);
        var container = Get(request.Id);
        if (container.Status is TaskStatus.Running)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"task '{request.Id}' is running; kill it first"));
        await container.DeleteAsync();
        await workloadEndpoints.CloseAsync(request.Id);
        _containers.TryRemove(request.Id, out _);
        _outputs.TryRemove(request.Id, out _);
        bundles.Remove(Path.GetFileName(container.BundlePath));
        var (status, at) = container.Exited.IsCompleted ? container.Exited.Result : (0, 0UL);
        return new DeleteTaskResponse { ExitStatus = status, ExitedAtUnixNano = at };
    }

    public override Task<TaskStateResponse> State(TaskStateRequest request, ServerCallContext context)
    {
        var c = Get(request.Id);
        return Task.FromResult(new TaskStateResponse
        {
            Id = c.Id,
            Status = c.Status,
            Pid = (uint)c.Pid,
            ExitStatus = c.Exited.IsCompleted ? c.Exited.Result.Status : 0,
        });
    }

    public override async Task Output(TaskOutputRequest request, IServerStreamWriter<OutputChunk> responseStream, ServerCallContext context)
    {
        var output = OutputFor(request.Id);
        IAsyncEnumerable<OutputChunk> chunks;
        try
        {
            chunks = output.ReadAllAsync(context.CancellationToken);
            // Headers now tell the host that the output is attached, before any byte is written.
            await context.WriteResponseHeadersAsync(new Metadata());
            await foreach (var chunk in chunks) await responseStream.WriteAsync(chunk);
        }
        catch (InvalidOperationException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }

    private Container Get(string id) =>
        _containers.TryGetValue(id, out var c) ? c : throw new RpcException(new Status(StatusCode.NotFound, $"no task '{id}'"));
}
