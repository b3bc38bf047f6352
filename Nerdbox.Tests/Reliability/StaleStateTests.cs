using System.Diagnostics;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Guard;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// <see cref="StateDirectories.ReapStale"/> on state a dead shim left: a real process stands in for its
/// VMM (its command line names the directory, as QEMU's and the libkrun helper's do).
/// </summary>
public sealed class StaleStateTests
{
    [Fact]
    public async Task A_dead_owners_VMM_socket_and_directory_are_removed_each_with_a_line()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var dir = Path.Combine(scratch.StateRoot, "stale");
        Directory.CreateDirectory(dir);
        // This process's pid with another start time: the pid of a shim that died and was given to another process.
        File.WriteAllText(Path.Combine(dir, StateDirectories.OwnerFile), $"{Environment.ProcessId} 1");
        // A shell blocked in its read builtin: one process, no children to leave behind.
        using var vmm = Process.Start(new ProcessStartInfo("sh", ["-c", "read line", dir]) { RedirectStandardInput = true })!;
        File.WriteAllText(Path.Combine(dir, GuardedVmm.VmmPidFile), vmm.Id.ToString());
        File.WriteAllText(Path.Combine(dir, "agent.sock"), "");

        var lines = new List<string>();
        Assert.Equal(1, StateDirectories.ReapStale(scratch.StateRoot, lines.Add));

        Assert.Equal(
        [
            $"killed stale VMM pid {vmm.Id} (sh) of VM 'stale', left by shim pid {Environment.ProcessId}, which is gone",
            $"removed stale socket {Path.Combine(dir, "agent.sock")}",
            $"removed stale state directory {dir} of VM 'stale', left by shim pid {Environment.ProcessId}, which is gone",
        ], lines);
        Assert.True(vmm.WaitForExit(5000));
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public async Task A_live_owners_directory_and_a_process_that_only_reuses_a_VMM_pid_are_left_alone()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var live = Path.Combine(scratch.StateRoot, "live");
        StateDirectories.Create(live);
        var reused = Path.Combine(scratch.StateRoot, "reused");
        Directory.CreateDirectory(reused);
        File.WriteAllText(Path.Combine(reused, StateDirectories.OwnerFile), "999999999 5");
        // A pid file naming a process that is not this directory's VMM (pids get reused): it is not killed.
        using var bystander = Process.Start(new ProcessStartInfo("sleep", ["1000"]))!;
        File.WriteAllText(Path.Combine(reused, GuardedVmm.VmmPidFile), bystander.Id.ToString());
        try
        {
            var lines = new List<string>();
            Assert.Equal(1, StateDirectories.ReapStale(scratch.StateRoot, lines.Add));

            Assert.Equal([$"removed stale state directory {reused} of VM 'reused', left by shim pid 999999999, which is gone"], lines);
            Assert.True(Directory.Exists(live));
            Assert.False(bystander.HasExited);
        }
        finally
        {
            bystander.Kill();
            bystander.WaitForExit();
            StateDirectories.Remove(live);
        }
    }

    [Theory]
    [InlineData("[    2.345678] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b",
        "the guest agent (init) died: it was killed by signal 11 (SIGSEGV) (kernel: Attempted to kill init! exitcode=0x0000000b)")]
    [InlineData("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
        "the guest agent (init) died: it exited with status 1 (kernel: Attempted to kill init! exitcode=0x00000100)")]
    [InlineData("[    9.1] sysrq: Trigger a crash\n[    9.2] Kernel panic - not syncing: sysrq triggered crash\n[    9.3] CPU: 0 PID: 80 Comm: sh\nCall Trace:\n <TASK>",
        "the guest kernel panicked: sysrq triggered crash")]
    [InlineData("---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---",
        "the guest kernel panicked: VFS: Unable to mount root fs on unknown-block(0,0)")]
    public void The_console_names_a_dead_agent_apart_from_a_kernel_panic(string console, string expected)
    {
        Assert.Equal(expected, GuestStop.FromConsoleText(console));
    }

    [Fact]
    public void A_console_without_a_panic_names_nothing_and_a_long_reason_is_cut()
    {
        Assert.Null(GuestStop.FromConsoleText("reboot: Power down\n"));
        var reason = GuestStop.FromConsoleText("Kernel panic - not syncing: " + new string('x', 5000) + "\u001b[31m")!;
        Assert.True(reason.Length < 300, reason);
        Assert.DoesNotContain('\u001b', reason);
    }
}
