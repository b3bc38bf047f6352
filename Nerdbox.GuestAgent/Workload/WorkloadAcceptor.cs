using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Nerdbox.GuestAgent.Init;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// One thread for every container's endpoint sockets. It makes them, joining a container's network namespace for that
/// (<c>setns</c> moves only the calling thread, so no pool thread is ever moved), and accepts on all of them with one
/// <c>poll</c>. Work is handed to it with <see cref="Run{T}"/>; the listening sockets it watches are its alone, so a
/// socket is never closed while the poll holds its number.
/// </summary>
internal sealed unsafe class WorkloadAcceptor : IDisposable
{
    private readonly Thread _thread;
    private readonly int _wakeRead;
    private readonly int _wakeWrite;
    private readonly ConcurrentQueue<Action> _work = new();
    private readonly Dictionary<int, Action<int>> _listeners = [];
    private readonly Lock _gate = new();
    private bool _stopped;

    public WorkloadAcceptor()
    {
        int* fds = stackalloc int[2];
        if (Libc.Pipe2(fds, Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0) throw new IOException("pipe2: " + Libc.LastErrorText());
        _wakeRead = fds[0];
        _wakeWrite = fds[1];
        _thread = new Thread(Loop) { IsBackground = true, Name = "workload-accept" };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the acceptor's thread and returns its result (or throws what it threw).</summary>
    public T Run<T>(Func<T> work)
    {
        if (Thread.CurrentThread == _thread) return work();
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            _work.Enqueue(() =>
            {
                try
                {
                    ObjectDisposedException.ThrowIf(_stopped, this);
                    done.SetResult(work());
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }
        Wake();
        return done.Task.GetAwaiter().GetResult();
    }

    /// <summary>On the acceptor's thread: accept on <paramref name="fd"/> from now on, giving each connection's fd to <paramref name="accepted"/>.</summary>
    public void Watch(int fd, Action<int> accepted) => _listeners.Add(fd, accepted);

    /// <summary>On the acceptor's thread: stop accepting on <paramref name="fd"/> and close it.</summary>
    public void Close(int fd)
    {
        _listeners.Remove(fd);
        if (fd >= 0) Libc.Close(fd);
    }

    private void Wake()
    {
        byte one = 1;
        Libc.Write(_wakeWrite, &one, 1); // a full pipe already holds a wake-up
    }

    private void Loop()
    {
        var polled = new List<int>();
        while (!Volatile.Read(ref _stopped))
        {
            polled.Clear();
            polled.AddRange(_listeners.Keys);
            var fds = new Libc.PollFd[polled.Count + 1];
            fds[0] = new Libc.PollFd { Fd = _wakeRead, Events = Libc.POLLIN };
            for (var i = 0; i < polled.Count; i++) fds[i + 1] = new Libc.PollFd { Fd = polled[i], Events = Libc.POLLIN };
            int ready;
            fixed (Libc.PollFd* p = fds) ready = Libc.Poll(p, (ulong)fds.Length, -1);
            if (ready < 0)
            {
                if (Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
                AgentLog.Write("workload endpoints: poll: " + Libc.LastErrorText());
                break;
            }
            for (var i = 1; i < fds.Length; i++)
                if (fds[i].Revents != 0) AcceptAll(fds[i].Fd);
            if (fds[0].Revents != 0) RunQueued();
        }
        // Nothing is queued after the stop; what came before it fails as disposed rather than waiting forever.
        lock (_gate) _stopped = true;
        while (_work.TryDequeue(out var left)) left();
    }

    private void RunQueued()
    {
        byte* drain = stackalloc byte[64];
        while (Libc.Read(_wakeRead, drain, 64) > 0) { }
        while (_work.TryDequeue(out var work)) work();
    }

    /// <summary>
    /// Takes every connection waiting on a listener; one that vanished before its accept is skipped. Out of file
    /// descriptors or memory, the connection stays queued and the thread pauses before it tries again, rather than
    /// spinning on the guest's one CPU; any other failure stops accepting on that listener.
    /// </summary>
    private void AcceptAll(int listener)
    {
        if (!_listeners.TryGetValue(listener, out var accepted)) return;
        while (true)
        {
            var fd = Libc.Accept4(listener, null, null, Libc.SOCK_CLOEXEC);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is Libc.EAGAIN or Libc.EINTR or Libc.ECONNABORTED) return;
                AgentLog.Write($"workload endpoints: accept: {Libc.LastErrorText()}");
                if (errno is Libc.EMFILE or Libc.ENFILE or Libc.ENOBUFS or Libc.ENOMEM) Thread.Sleep(ResourcePause);
                else _listeners.Remove(listener);
                return;
            }
            try
            {
                accepted(fd);
            }
            catch (Exception e)
            {
                AgentLog.Write($"workload endpoints: a connection could not be taken: {e.Message}");
            }
        }
    }

    private static readonly TimeSpan ResourcePause = TimeSpan.FromMilliseconds(100);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopped || _disposing) return;
            _disposing = true;
            _work.Enqueue(() =>
            {
                foreach (var fd in _listeners.Keys.ToList()) Close(fd);
                lock (_gate) _stopped = true;
            });
        }
        Wake();
        if (_thread.Join(TimeSpan.FromSeconds(5)))
        {
            Libc.Close(_wakeRead);
            Libc.Close(_wakeWrite);
        }
    }

    private bool _disposing;
}
