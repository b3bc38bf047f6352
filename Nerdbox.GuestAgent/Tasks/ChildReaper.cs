using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Tasks;

/// <summary>How a child ended (its raw wait status) and the CPU time it used, its waited-for children's included.</summary>
internal readonly record struct ChildExit(int Status, TimeSpan UserCpu, TimeSpan SystemCpu)
{
    public int ExitCode => ChildReaper.ExitCode(Status);
}

/// <summary>
/// The one place that waits for children. As PID 1 (or a child subreaper on a host) the agent inherits
/// every orphan, the container's init among them, so it reaps all children on one thread and hands
/// each exit status to whoever waits for that pid, even when the child exited before the wait began.
/// </summary>
internal sealed class ChildReaper
{
    public static readonly ChildReaper Instance = new();

    private const int MaxUnclaimed = 4096;
    private readonly object _lock = new();
    private readonly Dictionary<int, TaskCompletionSource<ChildExit>> _waiters = new();
    private readonly Dictionary<int, ChildExit> _unclaimed = new();
    private readonly Queue<int> _unclaimedOrder = new();
    private readonly SemaphoreSlim _childAdded = new(0);
    private int _started;

    private ChildReaper() { }

    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 1) return;
        new Thread(Loop) { IsBackground = true, Name = "reaper" }.Start();
    }

    /// <summary>Call after spawning a child, so the reaper stops idling.</summary>
    public void ChildSpawned() => _childAdded.Release();

    /// <summary>How <paramref name="pid"/> ended, once it exits.</summary>
    public Task<ChildExit> WaitAsync(int pid)
    {
        lock (_lock)
        {
            if (_unclaimed.Remove(pid, out var exit)) return Task.FromResult(exit);
            if (!_waiters.TryGetValue(pid, out var tcs))
                _waiters[pid] = tcs = new TaskCompletionSource<ChildExit>(TaskCreationOptions.RunContinuationsAsynchronously);
            return tcs.Task;
        }
    }

    /// <summary>Exit code as a shell reports it: the code, or 128 + the signal that ended it.</summary>
    public static int ExitCode(int waitStatus)
    {
        var signal = waitStatus & 0x7f;
        return signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
    }

    private unsafe void Loop()
    {
        while (true)
        {
            int status;
            Libc.Rusage usage;
            var pid = Libc.Wait4(-1, &status, 0, &usage);
            if (pid > 0)
            {
                Deliver(pid, new ChildExit(status, Cpu(usage.UserSeconds, usage.UserMicroseconds), Cpu(usage.SystemSeconds, usage.SystemMicroseconds)));
                continue;
            }
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR) continue;
            // No children now: orphans can still be handed to us, so look again after a short wait.
            _childAdded.Wait(50);
        }
    }

    private static TimeSpan Cpu(long seconds, long microseconds) => TimeSpan.FromTicks(seconds * TimeSpan.TicksPerSecond + microseconds * 10);

    private void Deliver(int pid, ChildExit exit)
    {
        TaskCompletionSource<ChildExit>? tcs;
        lock (_lock)
        {
            if (!_waiters.Remove(pid, out tcs))
            {
                _unclaimed[pid] = exit;
                _unclaimedOrder.Enqueue(pid);
                while (_unclaimedOrder.Count > MaxUnclaimed) _unclaimed.Remove(_unclaimedOrder.Dequeue());
                return;
            }
        }
        tcs.TrySetResult(exit);
    }
}
