using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Relay;
using Nerdbox.Telemetry.Settings;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// What has to hold before a first VM can boot: the host packages, a backend chosen (and why), the
/// guest image built or found in the cache, state left by earlier runs reaped, and the host's OpenTelemetry
/// environment read for the guest's half of the trace. The one path
/// that <c>run</c>, <c>serve</c> and <c>bench</c> all take.
/// </summary>
public static class BootPreparation
{
    public static async Task<VmTaskOptions> PrepareAsync(VmShape shape, Action<string> progress, CancellationToken ct)
    {
        HostPackages.Require(HostPackages.ForRun);
        // Read first, so that a bad span limit fails, naming the variable, before any slow work.
        var environment = OtelEnvironment.Current();
        var limits = SpanLimits.Parse(environment);
        var otel = HostOtelEnvironment.From(environment);
        if (otel.MalformedEntries.Count > 0)
            progress($"{OtelEnvironment.ResourceAttributesVariable}: ignored {otel.MalformedEntries.Count} malformed entries: {string.Join(", ", otel.MalformedEntries)}");
        var selection = BackendSelector.Select(shape.Backend);
        progress($"VM backend {selection.Reason}");
        // The VMM's version line is asked of a separate process (itself some tens of ms) only when the binary changed
        // since it was last asked; it runs on another core while the image is checked.
        var vmmVersion = Task.Run(() => VmmVersion.OfAsync(selection.Backend, GuestImageBuilder.DefaultCacheDirectory, ct), ct);
        var image = await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, progress).EnsureAsync(ct);
        if (shape.Kernel == GuestKernel.Minimal)
        {
            var minimal = new MinimalKernel(GuestImageBuilder.DefaultCacheDirectory, progress);
            var kernel = await minimal.EnsureAsync(ct);
            image = image with { KernelPath = kernel, KernelPackage = minimal.Describe(kernel) };
        }
        StateDirectories.ReapStale(StateDirectories.DefaultRoot, progress);
        return new VmTaskOptions
        {
            Image = image,
            Backend = selection.Backend,
            BackendReason = selection.Reason,
            Accelerator = shape.Accelerator,
            Cpus = shape.Cpus,
            MemoryMib = shape.MemoryMib,
            CpuModel = shape.CpuModel,
            VmmVersion = await vmmVersion,
            Otel = otel,
            RelayBounds = RelayBounds.Default.Within(limits),
        };
    }
}
