using Nerdbox.Shim.Service;

namespace Nerdbox.Shim.Hosting;

/// <summary>
/// grpc.health.v1 on the task API, for grpc_health_probe and orchestrators: the server ("") and the
/// task service report SERVING only once the shim can boot VMs (the same readiness as /health).
/// </summary>
public static class TaskApiHealth
{
    /// <summary>The task service's full name, as health checks and reflection know it.</summary>
    public static readonly string TaskServiceName = Api.Shim.V1.Task.Descriptor.FullName;

    public static void Add(IServiceCollection services) =>
        services.AddGrpcHealthChecks(o =>
        {
            o.Services.Map("", r => r.Tags.Contains(VmReadiness.HealthTag));
            o.Services.Map(TaskServiceName, r => r.Tags.Contains(VmReadiness.HealthTag));
        });
}
