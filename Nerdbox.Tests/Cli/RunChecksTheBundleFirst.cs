namespace Nerdbox.Tests.Cli;

/// <summary>
/// <c>run</c> checks the bundle before the host packages and the guest image: a bad bundle fails at
/// once with a message naming the problem, and no image work starts.
/// </summary>
public sealed class RunChecksTheBundleFirst : IDisposable
{
    private readonly ShimExecutable _shim = new();

    public void Dispose() => _shim.Dispose();

    [Fact]
    public async Task A_missing_bundle_fails_before_any_image_work()
    {
        var bundle = Path.Combine(_shim.Root, "no-such-bundle");

        var r = await _shim.RunAsync("run", bundle);

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Equal($"nerdbox: error: bundle '{bundle}' is not a directory\n", r.Stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_shim.ImageDir));
        Assert.Empty(_shim.Leftovers());
        Assert.Empty(_shim.ProcessesFromTheSandbox());
    }

    [Fact]
    public async Task A_bundle_without_config_fails_without_image_work()
    {
        var bundle = Path.Combine(_shim.Root, "empty-bundle");
        Directory.CreateDirectory(bundle);

        var r = await _shim.RunAsync("run", bundle);

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("config.json is missing", r.Stderr);
        Assert.Empty(_shim.Leftovers());
    }
}
