using Task = System.Threading.Tasks.Task;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Nerdbox.Api.Shim.V1;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Status = Grpc.Core.Status;
using Nerdbox.Engine.Boot;
using Nerdbox.Telemetry;
using Nerdbox.Telemetry.Sinks;

namespace Nerdbox.Shim.Service;

/// <summary>The shim's task API: each task is a VM running one container.</summary>
internal sealed class ShimTaskService(TaskRegistry tasks, VmReadiness readiness, IServiceProvider services, ILogger<ShimTaskService> logger)
    : Api.Shim.V1.Task.TaskBase
{
    public override async Task<CreateResponse> Create(CreateRequest request, ServerCallContext context)
    {
        TagTask(request.Id);
        VmTaskOptions options;
        try
        {
            options = await readiness.Options.WaitAsync(TimeSpan.FromSeconds(1), context.CancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or VmException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, readiness.State));
        }
        options = options with
        {
            Cpus = request.Cpus > 0 ? (int)request.Cpus : options.Cpus,
            MemoryMib = request.MemoryMib > 0 ? (int)request.MemoryMib : options.MemoryMib,
            GuestSpanSink = services.GetService<ISpanSink>(),
            WorkloadLogSink = services.GetService<ILogSink>(),
        };
        if (request.Backend is { Length: > 0 } b && b != "auto" && b != options.Backend.Name)
        {
            var selection = Wrap(() => BackendSelector.Select(b));
            options = options with { Backend = selection.Backend, BackendReason = selection.Reason };
        }
        if (!tasks.TryReserve(request.Id)) throw new RpcException(new Status(StatusCode.AlreadyExists, $"task '{request.Id}' exists already"));
        try
        {
            var task = await Wrap(() => VmTask.CreateAsync(request.Id, request.Bundle, options, context.CancellationToken));
            tasks.Add(task);
            logger.LogInformation("task {Id} created in {Backend}", task.Id, task.Backend);
            return new CreateResponse { Pid = task.Pid, TraceId = Activity.Current?.TraceId.ToString() ?? "" };
        }
        finally
        {
            tasks.Release(request.Id);
        }
    }

    public override async Task<StartResponse> Start(StartRequest request, ServerCallContext context)
    {
        TagTask(request.Id);
        return new() { Pid = await Wrap(() => Get(request.Id).StartAsync(context.CancellationToken)) };
    }

    public override async Task<WaitResponse> Wait(WaitRequest request, ServerCallContext context)
    {
        TagTask(request.Id);
        var (status, at) = await Wrap(() => Get(request.Id).WaitAsync(context.CancellationToken));
        return new WaitResponse { ExitStatus = status, ExitedAtUnixNano = ToUnixNano(at) };
    }

    public override async Task<KillResponse> Kill(KillRequest request, ServerCallContext context)
    {
        TagTask(request.Id);
        await Wrap(() => Get(request.Id).KillAsync(request.Signal == 0 ? 15u : request.Signal, context.CancellationToken));
        return new KillResponse();
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        TagTask(request.Id);
        var task = Get(request.Id);
        tasks.Remove(request.Id);
        await Wrap(() => task.DeleteAsync(context.CancellationToken));
        var exit = task.Exit;
        return new DeleteResponse
        {
            ExitStatus = exit?.Status ?? 0,
            ExitedAtUnixNano = exit is { } e ? ToUnixNano(e.At) : 0,
            TraceId = Activity.Current?.TraceId.ToString() ?? "",
        };
    }

    public override Task<StateResponse> State(StateRequest request, ServerCallContext context)
    {
        var task = Get(request.Id);
        return Task.FromResult(new StateResponse
        {
            Id = task.Id,
            Bundle = task.BundlePath ?? "",
            Status = task.Exit is not null ? Nerdbox.Api.Shim.V1.Status.Stopped : task.Phases.ContainerStarted is not null ? Nerdbox.Api.Shim.V1.Status.Running : Nerdbox.Api.Shim.V1.Status.Created,
            Pid = task.Pid,
            ExitStatus = task.Exit?.Status ?? 0,
            Stdout = ByteString.CopyFrom(task.Output.Stdout()),
            Stderr = ByteString.CopyFrom(task.Output.Stderr()),
            Backend = task.Backend,
        });
    }

    /// <summary>Names the task on the call's server span, so that a trace of the task API says which container it was about.</summary>
    private static void TagTask(string id)
    {
        if (Activity.Current is { Source.Name: ShimTracing.SourceName } span) span.SetTag("container.id", id);
    }

    private VmTask Get(string id) =>
        tasks.TryGet(id, out var t) ? t : throw new RpcException(new Status(StatusCode.NotFound, $"no task '{id}'"));

    private static ulong ToUnixNano(DateTime at) => (ulong)(at - DateTime.UnixEpoch).Ticks * 100;

    /// <summary>Maps the shim's own failures to gRPC statuses with their messages.</summary>
    private static async Task<T> Wrap<T>(Func<Task<T>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception e)
        {
            throw Map(e);
        }
    }

    private static async Task Wrap(Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception e)
        {
            throw Map(e);
        }
    }

    private static T Wrap<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception e)
        {
            throw Map(e);
        }
    }

    private static Exception Map(Exception e) => e switch
    {
        RpcException r => r,
        BundleException => new RpcException(new Status(StatusCode.InvalidArgument, e.Message)),
        VmException => new RpcException(new Status(StatusCode.FailedPrecondition, e.Message)),
        InvalidOperationException => new RpcException(new Status(StatusCode.FailedPrecondition, e.Message)),
        OperationCanceledException => new RpcException(new Status(StatusCode.Cancelled, "cancelled")),
        _ => new RpcException(new Status(StatusCode.Internal, e.Message)),
    };
}
