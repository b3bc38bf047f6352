using System.Diagnostics;
using System.Text.Json;
using Nerdbox.Engine.Host;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Guard;
using Nerdbox.Engine.Vm.Libkrun;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// The VMM guard itself (the production script, its variables and the production helper command), run
/// under a stand-in owner that is <c>SIGKILL</c>ed: a <c>sleep</c> holds the lifeline's write end, as the
/// shim does. The libkrun helper needs no KVM up to its hold point, so it stands in for a libkrun VM.
/// </summary>
public sealed class GuardTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_guard_kills_its_VMM_when_its_owner_is_SIGKILLed()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var state = Path.Combine(scratch.StateRoot, "sleeper");
        StateDirectories.Create(state);
        using var guard = new GuardedVmm(state, ["sleep", "1000"]);

        await using var owned = await OwnedGuard.StartAsync(guard, state);
        Assert.True(ProcessIdentity.IsRunning(owned.Vmm));
        Assert.Equal(owned.Guard, ShimKillTests.ParentOf(owned.Vmm));

        owned.KillOwner();

        await VmmAbsence.AssertGoneAsync([owned.Vmm, owned.Guard], "the VMM and guard of a SIGKILLed owner");
        Assert.Equal(137, await owned.GuardStatusAsync()); // the VMM's status, passed on: SIGKILL
        StateDirectories.Remove(state);
    }

    [Fact]
    public async Task A_libkrun_helper_under_the_guard_dies_when_its_owner_is_SIGKILLed()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var config = new VmConfig
        {
            Id = "helper",
            StateDirectory = Path.Combine(scratch.StateRoot, "helper"),
            KernelPath = "/nonexistent/vmlinux",
        };
        var state = config.StateDirectory;
        StateDirectories.Create(state);
        File.WriteAllText(Path.Combine(state, HelperProtocol.ConfigFile),
            JsonSerializer.Serialize(new LibkrunInstance(config).HelperConfig(), HelperJsonContext.Default.HelperConfig));
        // The helper's own command, as LibkrunInstance builds it; held before it would load libkrun.
        using var guard = new GuardedVmm(state, [.. ShimProgram.Command(), HelperProtocol.Verb, "--state", state],
            new Dictionary<string, string> { [HelperProtocol.HoldVariable] = "1" });

        await using var owned = await OwnedGuard.StartAsync(guard, state);
        await owned.WaitForOutputAsync("\"event\":\"configured\"", Patience);
        Assert.Contains(owned.Vmm, scratch.VmmProcesses());

        owned.KillOwner();

        await VmmAbsence.AssertGoneAsync([owned.Vmm, owned.Guard], "the libkrun helper of a SIGKILLed owner");
        Assert.Equal(137, await owned.GuardStatusAsync());
        StateDirectories.Remove(state);
    }

    [Fact]
    public async Task A_libkrun_VM_runs_its_helper_under_the_guard()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var config = new VmConfig { Id = "guarded", StateDirectory = Path.Combine(scratch.StateRoot, "guarded"), KernelPath = "/nonexistent/vmlinux" };
        var options = new LibkrunOptions { HelperEnvironment = new Dictionary<string, string> { [HelperProtocol.HoldVariable] = "1" }, StartTimeout = Patience };
        await using (var vm = new LibkrunInstance(config, options))
        {
            var start = vm.StartAsync(CancellationToken.None);
            await vm.Configured.WaitAsync(Patience);
            var helper = vm.ProcessId ?? throw new InvalidOperationException("no helper process");
            var guard = ShimKillTests.ParentOf(helper) ?? throw new InvalidOperationException("the helper has no parent");
            Assert.Contains(GuardedVmm.GuardName, ProcessIdentity.CommandLine(guard));
            Assert.Equal(Environment.ProcessId, ShimKillTests.ParentOf(guard));
            Assert.Equal(guard.ToString(), File.ReadAllText(Path.Combine(config.StateDirectory, GuardedVmm.GuardPidFile)));
            await vm.DisposeAsync();
            await Assert.ThrowsAsync<VmException>(() => start);
            await VmmAbsence.AssertGoneAsync([helper, guard], "a disposed libkrun VM's helper");
        }
        scratch.AssertNothingLeft();
    }

    /// <summary>
    /// A guard started, with <see cref="GuardedVmm"/>'s own script and variables, under a stand-in owner:
    /// <c>sleep | guard</c>, the sleep holding the lifeline's write end as the shim would.
    /// </summary>
    private sealed class OwnedGuard : IAsyncDisposable
    {
        private readonly Process _outer;
        private readonly System.Text.StringBuilder _output = new();

        private OwnedGuard(Process outer) => _outer = outer;

        public int Owner { get; private set; }
        public int Guard { get; private set; }
        public int Vmm { get; private set; }

        public static async Task<OwnedGuard> StartAsync(GuardedVmm guarded, string state)
        {
            var guardInfo = guarded.Process.StartInfo;
            var psi = new ProcessStartInfo("/bin/sh")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // $1 is the guard's script, $2 its name: the guard runs exactly as GuardedVmm runs it.
            foreach (var a in new[] { "-c", "sleep 1000 | /bin/sh -c \"$1\" \"$2\"", "owner", guardInfo.ArgumentList[1], guardInfo.ArgumentList[2] })
                psi.ArgumentList.Add(a);
            foreach (var (k, v) in guardInfo.Environment)
                if (k.StartsWith("NERDBOX_", StringComparison.Ordinal) && v is not null) psi.Environment[k] = v;
            var outer = new Process { StartInfo = psi };
            var owned = new OwnedGuard(outer);
            outer.OutputDataReceived += (_, e) => { lock (owned._output) owned._output.AppendLine(e.Data); };
            outer.ErrorDataReceived += (_, e) => { lock (owned._output) owned._output.AppendLine(e.Data); };
            outer.Start();
            outer.BeginOutputReadLine();
            outer.BeginErrorReadLine();

            var pidFile = Path.Combine(state, GuardedVmm.VmmPidFile);
            var deadline = DateTime.UtcNow + Patience;
            while (!(File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out _)))
            {
                if (DateTime.UtcNow > deadline || outer.HasExited) throw new InvalidOperationException($"the guard did not start its VMM:\n{owned._output}");
                await Task.Delay(10);
            }
            owned.Vmm = int.Parse(File.ReadAllText(pidFile).Trim());
            owned.Guard = ShimKillTests.ParentOf(owned.Vmm) ?? throw new InvalidOperationException("the VMM has no parent");
            owned.Owner = Directory.EnumerateDirectories("/proc")
                .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
                .Single(pid => pid > 0 && pid != owned.Guard && ShimKillTests.ParentOf(pid) == outer.Id && ProcessIdentity.Name(pid) == "sleep");
            return owned;
        }

        public async Task WaitForOutputAsync(string text, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                lock (_output) if (_output.ToString().Contains(text, StringComparison.Ordinal)) return;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"no '{text}' within {timeout}:\n{_output}");
                await Task.Delay(20);
            }
        }

        public void KillOwner() => Process.GetProcessById(Owner).Kill();

        /// <summary>The pipeline's status is its last command's: the guard's.</summary>
        public async Task<int> GuardStatusAsync()
        {
            using var cts = new CancellationTokenSource(Patience);
            await _outer.WaitForExitAsync(cts.Token);
            return _outer.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_outer.HasExited)
            {
                _outer.Kill(entireProcessTree: true);
                await _outer.WaitForExitAsync();
            }
            _outer.Dispose();
        }
    }
}
