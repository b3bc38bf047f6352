using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Service;

/// <summary>The task API's unix socket and its directory are the owner's alone, from the moment they exist.</summary>
public sealed class TaskApiSocketTests
{
    private static readonly Dictionary<string, string> NoVm = new() { ["Nerdbox__Backend"] = "no-such-backend" };

    [Fact]
    public async Task A_directory_the_shim_makes_for_its_socket_is_owner_only_and_the_socket_0600()
    {
        await using var scratch = new VmScratch();
        var socket = Path.Combine(scratch.Root, "made-by-the-shim", "deeper", "shim.sock");
        await using var shim = ShimProcess.Start(scratch.StateRoot, NoVm, taskApiSocket: socket);
        await WaitForAsync(() => File.Exists(socket) && File.GetUnixFileMode(socket) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), shim);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(socket)!));
    }

    [Fact]
    public async Task A_socket_directory_others_may_write_to_is_refused_naming_it()
    {
        await using var scratch = new VmScratch();
        var dir = Path.Combine(scratch.Root, "open");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_111); // 0777
        await using var shim = ShimProcess.Start(scratch.StateRoot, NoVm, taskApiSocket: Path.Combine(dir, "shim.sock"));
        await WaitForAsync(() => shim.Log.Contains("may be written by others"), shim);
        Assert.Contains($"the task API socket's directory {dir} may be written by others", shim.Log);
        Assert.False(File.Exists(Path.Combine(dir, "shim.sock")));
    }

    private static async Task WaitForAsync(Func<bool> condition, ShimProcess shim)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not seen within 90 s:\n{shim.Log}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }
}
