using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// What has to hold before a first VM can boot: the host packages, a backend chosen (and why), the
/// guest image built or found in the cache, and state left by earlier runs reaped. The one path
/// that <c>run</c>, <c>serve</c> and <c>bench</c> all take.
/// </summary>
public static class BootPreparation
{
    public static async Task<VmTaskOptions> PrepareAsync(VmShape shape, Action<string> progress, CancellationToken ct)
    {
        HostPackages.Require(HostPackages.ForRun);
        var selection = BackendSelector.Select(shape.Backend);
        progress($"VM backend {selection.Reason}");
        var image = await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, progress).EnsureAsync(ct);
        StateDirectories.ReapStale(StateDirectories.DefaultRoot);
        return new VmTaskOptions
        {
            Image = image,
            Backend = selection.Backend,
            BackendReason = selection.Reason,
            Accelerator = shape.Accelerator,
            Cpus = shape.Cpus,
            MemoryMib = shape.MemoryMib,
            VmmVersion = await VmmVersion.OfAsync(selection.Backend, ct),
        };
    }
}
