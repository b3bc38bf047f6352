using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Boot;

namespace Nerdbox.Shim.Service;

/// <summary>
/// Whether the shim can boot VMs: a usable backend (VMM binary, accelerator or emulator) and a
/// built guest image. Prepared in the background at start-up (a first build takes about a
/// minute); until then, or when it failed, the readiness check fails with the reason.
/// </summary>
public sealed class VmReadiness(ILogger<VmReadiness> logger, IConfiguration config) : BackgroundService, IHealthCheck
{
    /// <summary>The tag of the readiness check, which the gRPC health service maps to.</summary>
    public const string HealthTag = "ready";

    private volatile string _state = "preparing: checking the VM backend and the guest image";
    private volatile bool _ready;
    private readonly TaskCompletionSource<VmTaskOptions> _options = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The options new tasks use, once the shim can boot VMs.</summary>
    public Task<VmTaskOptions> Options => _options.Task;

    public string State => _state;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var shape = VmShape.Default with
            {
                Backend = config["Nerdbox:Backend"] ?? VmShape.Auto,
                Accelerator = config["Nerdbox:Accelerator"] ?? VmShape.Auto,
            };
            var options = await BootPreparation.PrepareAsync(shape, line =>
            {
                _state = "preparing: " + line;
                logger.LogInformation("{Line}", line);
            }, stoppingToken);
            _options.TrySetResult(options);
            _state = $"ready: {options.BackendReason}; image {options.Image.InputsHash[..12]}";
            _ready = true;
            logger.LogInformation("the shim can boot VMs: {State}", _state);
        }
        catch (Exception e) when (e is VmException or GuestImageException)
        {
            _state = "cannot boot VMs: " + e.Message;
            logger.LogError("{State}", _state);
            _options.TrySetException(new VmException(_state));
        }
        catch (OperationCanceledException)
        {
            _options.TrySetCanceled(stoppingToken);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_ready ? HealthCheckResult.Healthy(_state) : HealthCheckResult.Unhealthy(_state));
}
