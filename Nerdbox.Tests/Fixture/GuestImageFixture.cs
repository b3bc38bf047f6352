using Nerdbox.Shim.GuestImage;
using Nerdbox.Shim.Vm;
using Nerdbox.Shim.Vm.Qemu;

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
