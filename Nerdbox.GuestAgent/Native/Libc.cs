using System.Runtime.InteropServices;

namespace Nerdbox.GuestAgent.Native;

/// <summary>The few libc calls the agent needs as init and as a process supervisor (Linux x86-64).</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int EINTR = 4;
    public const int ECHILD = 10;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EAGAIN = 11;

    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const ulong MS_REMOUNT = 32;
    public const ulong MS_MOVE = 8192;
    public const ulong MS_REC = 16384;

    public const int CLOCK_REALTIME = 0;
    public const int CLOCK_BOOTTIME = 7;

    public const int WNOHANG = 1;
    public const int PR_SET_CHILD_SUBREAPER = 36;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;
    public const int SYS_finit_module = 313;

    public const uint LINUX_REBOOT_CMD_POWER_OFF = 0x4321FEDC;
    public const uint LINUX_REBOOT_CMD_RESTART = 0x01234567;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(Lib, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string? source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(Lib, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial long SyscallFinitModule(long number, int fd, string args, int flags);

    [LibraryImport(Lib, EntryPoint = "reboot", SetLastError = true)]
    public static partial int Reboot(uint cmd);

    [LibraryImport(Lib, EntryPoint = "sync")]
    public static partial void Sync();

    /// <summary>struct rusage: the two CPU times first, then fourteen longs of counters the agent does not read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Rusage
    {
        public long UserSeconds, UserMicroseconds;
        public long SystemSeconds, SystemMicroseconds;
        public fixed long Counters[14];
    }

    [LibraryImport(Lib, EntryPoint = "wait4", SetLastError = true)]
    public static partial int Wait4(int pid, int* status, int options, Rusage* usage);

    [LibraryImport(Lib, EntryPoint = "clock_gettime")]
    public static partial int ClockGetTime(int clockId, Timespec* ts);

    [LibraryImport(Lib, EntryPoint = "clock_settime", SetLastError = true)]
    public static partial int ClockSetTime(int clockId, Timespec* ts);

    [LibraryImport(Lib, EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Lib, EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport(Lib, EntryPoint = "sethostname", SetLastError = true)]
    public static partial int SetHostName(byte* name, nuint length);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int PosixSpawnFileActionsInit(void* actions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int PosixSpawnFileActionsDestroy(void* actions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int PosixSpawnFileActionsAddDup2(void* actions, int fd, int newFd);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addopen", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PosixSpawnFileActionsAddOpen(void* actions, int fd, string path, int oflag, int mode);

    [LibraryImport(Lib, EntryPoint = "posix_spawn")]
    public static partial int PosixSpawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    // Sockets made here rather than through .NET: vsock (AF_VSOCK = 40), whose address family .NET refuses, and the
    // workloads' loopback listeners, which should cost no .NET socket code until a workload connects.
    public const int AF_INET = 2;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_RCVTIMEO = 20;
    public const int ECONNABORTED = 103;
    public const int ENOMEM = 12;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ENOBUFS = 105;

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, void* addr, int addrLen);

    [LibraryImport(Lib, EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport(Lib, EntryPoint = "accept4", SetLastError = true)]
    public static partial int Accept4(int fd, void* addr, int* addrLen, int flags);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, int valueLen);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport(Lib, EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, void* addr, int* addrLen);

    // A thread's network namespace (a container's endpoint sockets are made inside the container's).
    public const int CLONE_NEWNET = 0x40000000;

    [LibraryImport(Lib, EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nsType);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, void* arg);

    /// <summary>syslog(2): <c>SYSLOG_ACTION_READ_ALL</c> (3) copies the log buffer without consuming it; <c>SIZE_BUFFER</c> (10) gives its size.</summary>
    [LibraryImport(Lib, EntryPoint = "klogctl", SetLastError = true)]
    public static partial int Klogctl(int type, byte* buffer, int length);

    public const int SYSLOG_ACTION_READ_ALL = 3;
    public const int SYSLOG_ACTION_SIZE_BUFFER = 10;

    /// <summary>poll(2)'s <c>struct pollfd</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    public const short POLLIN = 0x1;
    public const short POLLOUT = 0x4;
    public const short POLLERR = 0x8;
    public const short POLLNVAL = 0x20;
    public const short POLLHUP = 0x10;

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, ulong count, int timeoutMs);

    public static long ClockNs(int clockId)
    {
        Timespec ts;
        ClockGetTime(clockId, &ts);
        return ts.Seconds * 1_000_000_000L + ts.Nanoseconds;
    }

    public static string LastErrorText() => $"errno {Marshal.GetLastPInvokeError()} ({Marshal.GetLastPInvokeErrorMessage()})";
}
