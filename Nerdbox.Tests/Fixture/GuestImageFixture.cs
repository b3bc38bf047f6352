using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Qemu;

[assembly: AssemblyFixture(typeof(Nerdbox.Tests.Fixture.GuestImageFixture))]

namespace Nerdbox.Tests.Fixture;

/// <summary>
/// Builds (or reuses from the cache) the real guest image once for the whole test run, with the
/// same builder the shim's run verb uses.
/// </summary>
public sealed class GuestImageFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private GuestImageFiles? _image;

    public async Task<GuestImageFiles> ImageAsync()
    {
        await _lock.WaitAsync();
        try
        {
            return _image ??= await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory,
                line => Console.Error.WriteLine("guest image: " + line)).EnsureAsync();
        }
        finally
        {
            _lock.Release();
        }
    }

    public static IVmBackend Qemu => new QemuBackend();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Task options from the shared image, for a test's scratch root.</summary>
public static class VmScratchFixtureExtensions
{
    public static async Task<Nerdbox.Engine.Boot.VmTaskOptions> OptionsAsync(this Nerdbox.Testing.VmScratch scratch, GuestImageFixture fixture, TimeSpan? bootTimeout = null) =>
        scratch.Options(await fixture.ImageAsync(), bootTimeout);
}
