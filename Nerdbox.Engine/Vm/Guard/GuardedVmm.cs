using System.Diagnostics;

namespace Nerdbox.Engine.Vm.Guard;

/// <summary>
/// A VMM process (QEMU, or a libkrun helper) that dies with the shim on every path, <c>SIGKILL</c> included.
/// <para>
/// Why a guard process and a pipe. Linux does not end a process's children when it dies.
/// <c>PR_SET_PDEATHSIG</c> fires when the <em>thread</em> that forked the child exits, and .NET forks from
/// whichever pool thread runs <see cref="Process.Start()"/>, which may end long before the shim does; it
/// also cannot be set between .NET's fork and exec. A pidfd watchdog or a subreaper lives inside the shim
/// and dies with it. What outlives any death of the shim is the kernel closing its descriptors. So the
/// VMM is the child of a small POSIX-sh guard (<see cref="Script"/>) whose stdin is a pipe: only the shim
/// holds its write end (close-on-exec, so no other child keeps a copy past its exec). When the shim dies,
/// however it dies, the kernel closes that end; the guard reads end-of-file and <c>SIGKILL</c>s the VMM.
/// The guard exists before the VMM does, so there is no moment in which a VMM runs unguarded.
/// </para>
/// <para>
/// The shim stops a VMM the same way (<see cref="Release"/> lets go of the pipe), so the crash path is
/// the path every stop takes. The guard passes the VMM's exit status on as its own (128+N for signal N),
/// writes the VMM's pid to <see cref="VmmPidFile"/> and forwards SIGHUP, SIGINT and SIGTERM as SIGKILL.
/// A guard that is itself <c>SIGKILL</c>ed cannot act; its VMM is then found by the next shim's
/// <see cref="StateDirectories.ReapStale"/>.
/// </para>
/// </summary>
internal sealed class GuardedVmm : IDisposable
{
    /// <summary>The guard's <c>$0</c>: how <c>ps</c> and <see cref="StateDirectories.ReapStale"/> know it.</summary>
    public const string GuardName = "nerdbox-vmm-guard";

    /// <summary>In the state directory: the VMM's pid, written by the guard.</summary>
    public const string VmmPidFile = "vmm.pid";

    /// <summary>In the state directory: the guard's pid, written by the shim.</summary>
    public const string GuardPidFile = "guard.pid";

    /// <summary>The variables that carry the VMM's command to the guard (the guard unsets them before it starts the VMM).</summary>
    public const string PidFileVariable = "NERDBOX_GUARD_PIDFILE";
    public const string ArgCountVariable = "NERDBOX_GUARD_ARGC";
    public const string ArgVariablePrefix = "NERDBOX_GUARD_ARG_";

    /// <summary>
    /// The guard. The VMM's command comes in variables rather than arguments, so that only the VMM's
    /// own command line names the VM (that is how tests and <see cref="StateDirectories.ReapStale"/> find VMMs).
    /// A background job's stdin is /dev/null in sh, so the lifeline is kept on descriptor 3 for the watcher;
    /// the watcher holds none of the VMM's output, so that the output ends when the VMM does.
    /// </summary>
    internal const string Script = """
        set --
        i=0
        while [ "$i" -lt "${NERDBOX_GUARD_ARGC:-0}" ]; do
          eval "set -- \"\$@\" \"\$NERDBOX_GUARD_ARG_$i\""
          unset "NERDBOX_GUARD_ARG_$i"
          i=$((i + 1))
        done
        pidfile=$NERDBOX_GUARD_PIDFILE
        unset NERDBOX_GUARD_ARGC NERDBOX_GUARD_PIDFILE
        [ "$#" -gt 0 ] || { echo "nerdbox-vmm-guard: no command" >&2; exit 125; }
        exec 3<&0 0</dev/null
        "$@" 3<&- &
        vmm=$!
        echo "$vmm" > "$pidfile"
        trap 'kill -KILL "$vmm" 2>/dev/null' HUP INT TERM
        { while read -r _; do :; done; kill -KILL "$vmm" 2>/dev/null; } <&3 >/dev/null 2>&1 &
        watcher=$!
        exec 3<&-
        while :; do
          wait "$vmm"; status=$?
          kill -0 "$vmm" 2>/dev/null || break
        done
        kill "$watcher" 2>/dev/null
        exit "$status"
        """;

    private readonly string _stateDirectory;
    private int _started;
    private int? _vmmPid;

    /// <summary>Makes the guard's process for <paramref name="command"/>; hook its events, then <see cref="Start"/>.</summary>
    public GuardedVmm(string stateDirectory, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        if (command.Count == 0) throw new ArgumentException("no VMM command", nameof(command));
        _stateDirectory = stateDirectory;
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-c", Script, GuardName }) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        psi.Environment[PidFileVariable] = Path.Combine(stateDirectory, VmmPidFile);
        psi.Environment[ArgCountVariable] = command.Count.ToString();
        for (var i = 0; i < command.Count; i++) psi.Environment[ArgVariablePrefix + i] = command[i];
        Process = new Process { StartInfo = psi, EnableRaisingEvents = true };
    }

    /// <summary>The guard's process: its exit is the VMM's exit, its stdout and stderr are the VMM's.</summary>
    public Process Process { get; }

    /// <summary>The VMM's pid once the guard reported it (see <see cref="VmmPidAsync"/>).</summary>
    public int? VmmPid => _vmmPid ??= ReadVmmPid();

    /// <summary>Starts the guard, which starts the VMM; records the guard's pid in the state directory.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) throw new InvalidOperationException("the VMM was started already");
        if (!Process.Start()) throw new VmException("the VMM guard did not start");
        File.WriteAllText(Path.Combine(_stateDirectory, GuardPidFile), Process.Id.ToString());
    }

    /// <summary>Waits until the guard has written the VMM's pid; fails when the guard ends first.</summary>
    public async Task<int> VmmPidAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (VmmPid is { } pid) return pid;
            if (Process.HasExited)
                return VmmPid ?? throw new VmException($"the VMM guard exited ({Process.ExitCode}) before it started the VMM");
            await Task.Delay(2, cancellationToken);
        }
    }

    private int? ReadVmmPid()
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(_stateDirectory, VmmPidFile)).Trim(), out var pid) && pid > 0 ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Sends <paramref name="signal"/> to the VMM itself; false when its pid is unknown or it is gone.</summary>
    public bool Signal(int signal) =>
        !Process.HasExited && VmmPid is { } pid && Native.Libc.Kill(pid, signal) == 0;

    /// <summary>
    /// Lets go of the lifeline: the guard <c>SIGKILL</c>s the VMM and exits. This is what the kernel does
    /// for the shim when it dies. Idempotent.
    /// </summary>
    public void Release()
    {
        if (Volatile.Read(ref _started) == 0) return;
        try
        {
            Process.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        Release();
        Process.Dispose();
    }
}
