using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Qemu;

namespace Nerdbox.Testing;

/// <summary>
/// A test's or benchmark's own state root and bundles. On dispose it checks that nothing was left
/// behind (no VMM process naming the root, no socket, no state directory) and throws if something was.
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

    /// <summary>Task options for QEMU VMs kept under this scratch root.</summary>
    public VmTaskOptions Options(GuestImageFiles image, TimeSpan? bootTimeout = null) => new()
    {
        Image = image,
        Backend = new QemuBackend(),
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

    /// <summary>Throws, naming what is left, when a VMM process or anything under the state root remains.</summary>
    public void AssertNothingLeft()
    {
        if (VmmProcesses() is { Count: > 0 } pids)
            throw new InvalidOperationException($"VMM processes left running: {string.Join(", ", pids)}");
        if (Directory.EnumerateFileSystemEntries(StateRoot).ToList() is { Count: > 0 } left)
            throw new InvalidOperationException($"state left behind: {string.Join(", ", left)}");
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
