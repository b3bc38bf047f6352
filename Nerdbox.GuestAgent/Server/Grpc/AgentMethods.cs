using Nerdbox.GuestAgent.Services;
using SystemApi = Nerdbox.Api.System.V1.System;
using BundleApi = Nerdbox.Api.Bundle.V1.Bundle;
using TaskApi = Nerdbox.Api.Task.V1.Task;
using TracesApi = Nerdbox.Api.Traces.V1.Traces;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>
/// Every method the agent serves, bound to its handler. The generated descriptors give the paths and message types;
/// a test checks this list against the services' descriptors, so that a method added to a proto cannot go unbound.
/// </summary>
internal static class AgentMethods
{
    public static void Bind(GrpcMethodTable table, SystemService system, BundleService bundle, TaskService task, TracesService traces)
    {
        table.Unary(SystemApi.Methods.Info, system.Info);
        table.Unary(SystemApi.Methods.SetTime, system.SetTime);
        table.Unary(SystemApi.Methods.ProbeClock, system.ProbeClock);
        table.Unary(SystemApi.Methods.Shutdown, system.Shutdown);
        table.Unary(SystemApi.Methods.KernelLog, system.KernelLog);

        table.Unary(BundleApi.Methods.Create, bundle.Create);

        table.Unary(TaskApi.Methods.Create, task.Create);
        table.Unary(TaskApi.Methods.Start, task.Start);
        table.Unary(TaskApi.Methods.Wait, task.Wait);
        table.Unary(TaskApi.Methods.Kill, task.Kill);
        table.Unary(TaskApi.Methods.Delete, task.Delete);
        table.Unary(TaskApi.Methods.State, task.State);
        table.ServerStreaming(TaskApi.Methods.Output, task.Output);

        table.ServerStreaming(TracesApi.Methods.Stream, traces.Stream);
        table.Unary(TracesApi.Methods.Drain, traces.Drain);
    }
}
