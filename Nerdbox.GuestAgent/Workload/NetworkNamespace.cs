using System.Runtime.InteropServices;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// Work done inside another network namespace: a socket stays in the namespace it was made in, so the thread that
/// makes a container's sockets joins the container's namespace (<c>setns</c> changes only the calling thread), makes
/// them there, and leaves again; the agent then accepts on them from anywhere.
/// </summary>
internal static unsafe class NetworkNamespace
{
    private const int O_RDONLY = 0;
    private const ulong SIOCGIFFLAGS = 0x8913;
    private const ulong SIOCSIFFLAGS = 0x8914;
    private const short IFF_UP = 0x1;

    /// <summary>Moves the calling thread into the network namespace at <paramref name="path"/> until the scope ends.</summary>
    public static Scope Enter(string path)
    {
        var own = Libc.Open("/proc/thread-self/ns/net", O_RDONLY | Libc.O_CLOEXEC);
        if (own < 0) throw new IOException($"cannot open this thread's network namespace: {Libc.LastErrorText()}");
        var target = Libc.Open(path, O_RDONLY | Libc.O_CLOEXEC);
        try
        {
            if (target < 0) throw new IOException($"cannot open the network namespace {path}: {Libc.LastErrorText()}");
            if (Libc.SetNs(target, Libc.CLONE_NEWNET) != 0) throw new IOException($"cannot join the network namespace {path}: {Libc.LastErrorText()}");
        }
        catch
        {
            Libc.Close(own);
            throw;
        }
        finally
        {
            if (target >= 0) Libc.Close(target);
        }
        return new Scope(own);
    }

    /// <summary>The calling thread's stay in another namespace; ending it goes back to the one it came from.</summary>
    public readonly struct Scope(int own) : IDisposable
    {
        public void Dispose()
        {
            // The acceptor's next work enters a namespace of its own, so a failed return only ever matters for the
            // host-mode endpoints of tests; it is said on the console.
            if (Libc.SetNs(own, Libc.CLONE_NEWNET) != 0) Init.AgentLog.Write($"workload endpoints: cannot go back to the agent's network namespace: {Libc.LastErrorText()}");
            Libc.Close(own);
        }
    }

    /// <summary>Brings the loopback interface of the calling thread's namespace up; false when it was up already.</summary>
    public static bool BringLoopbackUp()
    {
        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new IOException("socket for the loopback interface: " + Libc.LastErrorText());
        try
        {
            var request = new IfReq();
            "lo"u8.CopyTo(new Span<byte>(request.Name, 16));
            if (Libc.Ioctl(fd, SIOCGIFFLAGS, &request) != 0) throw new IOException("reading the loopback interface's flags: " + Libc.LastErrorText());
            if ((request.Flags & IFF_UP) != 0) return false;
            request.Flags |= IFF_UP;
            if (Libc.Ioctl(fd, SIOCSIFFLAGS, &request) != 0) throw new IOException("bringing the loopback interface up: " + Libc.LastErrorText());
            return true;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary><c>struct ifreq</c>: the interface name, then a union of which only the flags are used here.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
    private struct IfReq
    {
        [FieldOffset(0)] public fixed byte Name[16];
        [FieldOffset(16)] public short Flags;
    }
}
