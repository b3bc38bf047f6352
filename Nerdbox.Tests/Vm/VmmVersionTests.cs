using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Tests.Vm;

/// <summary>
/// The VMM's version line is asked of the binary once and kept with its path, size and modification time: a later
/// boot reuses it, and a changed binary is asked again.
/// </summary>
public sealed class VmmVersionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nerdbox-vmm-version-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_version_is_asked_once_per_binary_and_again_when_the_binary_changes()
    {
        var ct = TestContext.Current.CancellationToken;
        var calls = Path.Combine(_dir, "calls");
        var binary = Path.Combine(_dir, "fake-qemu");
        void WriteBinary(string version)
        {
            File.WriteAllText(binary, $"#!/bin/sh\necho x >> '{calls}'\necho '{version}'\necho 'Copyright line'\n");
            File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        int Calls() => File.Exists(calls) ? File.ReadAllLines(calls).Length : 0;
        var backend = new QemuBackend(binary);
        var cache = Path.Combine(_dir, "cache");

        WriteBinary("QEMU emulator version 7.2.0");
        Assert.Equal("QEMU emulator version 7.2.0", await VmmVersion.OfAsync(backend, cache, ct));
        Assert.Equal("QEMU emulator version 7.2.0", await VmmVersion.OfAsync(backend, cache, ct));
        Assert.Equal(1, Calls());

        // An upgrade changes the binary's size and time: its line is asked again.
        WriteBinary("QEMU emulator version 8.2.1 (upgraded)");
        File.SetLastWriteTimeUtc(binary, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal("QEMU emulator version 8.2.1 (upgraded)", await VmmVersion.OfAsync(backend, cache, ct));
        Assert.Equal(2, Calls());

        // A cache file that is not one (oversized) is a miss, not an error.
        File.WriteAllText(Path.Combine(cache, VmmVersion.CacheFile), new string('x', 100_000));
        Assert.Equal("QEMU emulator version 8.2.1 (upgraded)", await VmmVersion.OfAsync(backend, cache, ct));
        Assert.Equal(3, Calls());

        // Without a cache directory every call asks.
        await VmmVersion.OfAsync(backend, null, ct);
        Assert.Equal(4, Calls());
    }
}
