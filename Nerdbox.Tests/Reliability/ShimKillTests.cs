using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Guard;
using Nerdbox.Tests.Fixture;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// <c>SIGKILL</c> of <c>nerdbox-shim run</c> (the real CLI, a real QEMU VM): the VMM goes with it, and the
/// next shim finds and removes what the dead one left, saying so.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class ShimKillTests(GuestImageFixture fixture)
{
    private static readonly TimeSpan BootPatience = TimeSpan.FromMinutes(4);
    private const string Started = "out: container-started";

    private async Task<string> LongBundleAsync(Nerdbox.Testing.VmScratch scratch)
    {
        await fixture.ImageAsync(); // built once, so that the shim finds it in the cache
        return await scratch.BundleAsync("long", "sh", "-c", "echo container-started; sleep 600");
    }

    [Fact]
    public async Task Sigkill_of_the_shim_while_the_container_runs_leaves_no_VMM()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var bundle = await LongBundleAsync(scratch);
        await using (var shim = ShimRunProcess.Start(scratch.StateRoot, bundle, "--id", "mid-run"))
        {
            await shim.WaitUntilAsync(() => shim.Output.Contains(Started), "the container started", BootPatience);
            var vmms = scratch.VmmProcesses();
            Assert.NotEmpty(vmms);
            var guard = ReadPid(Path.Combine(scratch.StateRoot, "mid-run"), GuardedVmm.GuardPidFile);

            await shim.KillAsync();

            await VmmAbsence.AssertGoneAsync(vmms, "the VMM of a SIGKILLed shim");
            await VmmAbsence.AssertGoneAsync([guard], "the VMM guard of a SIGKILLed shim");
        }
        Reap(scratch);
    }

    [Fact]
    public async Task Sigkill_of_the_shim_while_the_guest_boots_leaves_no_VMM()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var bundle = await LongBundleAsync(scratch);
        await using (var shim = ShimRunProcess.Start(scratch.StateRoot, bundle, "--id", "mid-boot"))
        {
            var stateDir = Path.Combine(scratch.StateRoot, "mid-boot");
            await shim.WaitUntilAsync(() => scratch.VmmProcesses().Count > 0 && File.Exists(Path.Combine(stateDir, GuardedVmm.GuardPidFile)),
                "a VMM started", BootPatience);
            var vmms = scratch.VmmProcesses();
            var guard = ReadPid(stateDir, GuardedVmm.GuardPidFile);

            await shim.KillAsync();

            // Under emulation a boot takes seconds: the shim died before its container could start.
            Assert.DoesNotContain(Started, shim.Output);
            await VmmAbsence.AssertGoneAsync(vmms, "the VMM of a shim SIGKILLed mid-boot");
            await VmmAbsence.AssertGoneAsync([guard], "the VMM guard of a shim SIGKILLed mid-boot");
        }
        Reap(scratch);
    }

    [Fact]
    public async Task A_shim_started_after_a_crash_kills_and_removes_what_the_dead_one_left_and_says_so()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var bundle = await LongBundleAsync(scratch);
        var stateDir = Path.Combine(scratch.StateRoot, "crashed");
        int vmm;
        await using (var shim = ShimRunProcess.Start(scratch.StateRoot, bundle, "--id", "crashed"))
        {
            await shim.WaitUntilAsync(() => shim.Output.Contains(Started), "the container started", BootPatience);
            vmm = ReadPid(stateDir, GuardedVmm.VmmPidFile);
            var guard = ReadPid(stateDir, GuardedVmm.GuardPidFile);
            // The worst case: the guard dies with the shim, and the VMM is left running with nobody to stop it.
            // The guard and its lifeline watcher are stopped first, so that neither the shim nor they act.
            int[] guards = [guard, .. ChildrenOf(guard).Where(p => p != vmm)];
            foreach (var p in guards) Assert.Equal(0, Native.Kill(p, Native.SIGSTOP));
            await shim.KillAsync();
            foreach (var p in guards) Assert.Equal(0, Native.Kill(p, Native.SIGKILL));
        }
        Assert.True(ProcessIdentity.IsRunning(vmm), "the VMM should have outlived a shim and guard that were both killed");
        var socket = Path.Combine(stateDir, "agent.sock");
        var hadSocket = File.Exists(socket);
        Assert.True(File.Exists(Path.Combine(stateDir, "console.log")));

        var quick = await scratch.BundleAsync("quick", "sh", "-c", "echo after-the-crash");
        await using (var next = ShimRunProcess.Start(scratch.StateRoot, quick, "--id", "next"))
        {
            Assert.Equal(0, await next.WaitForExitAsync(BootPatience));
            var log = next.Output;
            Assert.Contains("out: after-the-crash", log);
            Assert.Contains($"killed stale VMM pid {vmm} (qemu-system-x86", log);
            Assert.Contains($"removed stale state directory {stateDir} of VM 'crashed'", log);
            if (hadSocket) Assert.Contains($"removed stale socket {socket}", log);
        }
        Assert.False(ProcessIdentity.IsRunning(vmm), "the stale VMM still runs");
        Assert.False(Directory.Exists(stateDir), "the stale state directory is still there");
    }

    /// <summary>A killed shim leaves its state directory; reaping it (as the next shim would) names it.</summary>
    private static void Reap(Nerdbox.Testing.VmScratch scratch)
    {
        var lines = new List<string>();
        Assert.Equal(1, StateDirectories.ReapStale(scratch.StateRoot, lines.Add));
        Assert.Contains(lines, l => l.StartsWith("removed stale state directory ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("killed", StringComparison.Ordinal));
    }

    private static IEnumerable<int> ChildrenOf(int parent) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && ParentOf(pid) == parent)
            .ToList();

    internal static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException) { return null; }
    }

    private static int ReadPid(string dir, string file) => int.Parse(File.ReadAllText(Path.Combine(dir, file)).Trim());

    private static class Native
    {
        public const int SIGKILL = 9;
        public const int SIGSTOP = 19;

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
