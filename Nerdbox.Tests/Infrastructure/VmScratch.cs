using Nerdbox.Shim.Cli;
using Nerdbox.Shim.GuestImage;
using Nerdbox.Shim.Tasks;
using Nerdbox.Shim.Vm;
using Nerdbox.Tests.Fixture;

namespace Nerdbox.Tests.Infrastructure;

/// <summary>
/// A test's own state root and bundles. On dispose it asserts that nothing was left behind:
/// no VMM process naming the root, no socket, no state directory.
/// </summary>
public sealed class VmScratch : IAsyncDisposable
{
    public VmScratch()
    {
        Root = Path.Combine(Path.GetTempPath(), "nerdbox-tests", Guid.NewGuid().ToString("N")[..12]);
        StateRoot = Path.Combine(Root, "vms");
        Directory.CreateDirectory(StateRoot);
    }

    public string Root { get; }
    public string StateRoot { get; }

    public async Task<string> BundleAsync(string name, params string[] args)
    {
        var dir = Path.Combine(Root, "bundles", name);
        await SampleBundle.CreateAsync(dir, args);
        return dir;
    }

    public async Task<VmTaskOptions> OptionsAsync(GuestImageFixture fixture, TimeSpan? bootTimeout = null) => new()
    {
        Image = await fixture.ImageAsync(),
        Backend = GuestImageFixture.Qemu,
        StateRoot = StateRoot,
        BootTimeout = bootTimeout ?? TimeSpan.FromSeconds(60),
    };

    /// <summary>VMM processes whose command line names this test's state root.</summary>
    public IReadOnlyList<int> VmmProcesses() =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : -1)
            .Where(pid => pid > 0 && ReadCmdline(pid).Contains(StateRoot, StringComparison.Ordinal))
            .ToList();

    private static string ReadCmdline(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline"); }
        catch (Exception) { return ""; }
    }

    public void AssertNothingLeft()
    {
        Assert.Empty(VmmProcesses());
        Assert.Empty(Directory.EnumerateFileSystemEntries(StateRoot));
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            AssertNothingLeft();
        }
        finally
        {
            try { Directory.Delete(Root, true); } catch (IOException) { }
        }
        return ValueTask.CompletedTask;
    }
}
