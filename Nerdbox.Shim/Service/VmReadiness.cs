using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nerdbox.Shim.GuestImage;
using Nerdbox.Shim.Tasks;
using Nerdbox.Shim.Vm;

namespace Nerdbox.Shim.Service;

/// <summary>
/// Whether the shim can boot VMs: a usable backend (VMM binary, accelerator or emulator) and a
/// built guest image. Prepared in the background at start-up (a first build takes about a
/// minute); until then, or when it failed, the readiness check fails with the reason.
/// </summary>
public sealed class VmReadiness(ILogger<VmReadiness> logger, IConfiguration config) : BackgroundService, IHealthCheck
{
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
            HostPackages.Require(HostPackages.ForRun);
            var selection = BackendSelector.Select(config["Nerdbox:Backend"] ?? "auto");
            logger.LogInformation("VM backend {Reason}", selection.Reason);
            _state = $"building the guest image ({selection.Reason})";
            var image = await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, line =>
            {
                _state = "building the guest image: " + line;
                logger.LogInformation("guest image: {Line}", line);
            }).EnsureAsync(stoppingToken);
            StateDirectories.ReapStale(StateDirectories.DefaultRoot);
            _options.TrySetResult(new VmTaskOptions
            {
                Image = image,
                Backend = selection.Backend,
                BackendReason = selection.Reason,
                Accelerator = config["Nerdbox:Accelerator"] ?? "auto",
            });
            _state = $"ready: {selection.Reason}; image {image.InputsHash[..12]}";
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
