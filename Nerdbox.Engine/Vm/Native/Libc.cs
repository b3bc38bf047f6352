using Nerdbox.Api.Contract;
using System.Runtime.InteropServices;

namespace Nerdbox.Engine.Vm.Native;

/// <summary>The few libc calls the VM backends need: signals, descriptors, and AF_VSOCK sockets (which .NET refuses to make).</summary>
internal static unsafe class Libc
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int O_RDWR = 2;
    public const int O_CLOEXEC = 0x80000;
    public const int F_DUPFD_CLOEXEC = 1030;


    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "connect", SetLastError = true)]
    public static extern int Connect(int fd, SockaddrVm* address, int length);

    [DllImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static extern int Bind(int fd, SockaddrVm* address, int length);

    [DllImport("libc", EntryPoint = "listen", SetLastError = true)]
    public static extern int Listen(int fd, int backlog);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    public static extern int Close(int fd);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "dup2", SetLastError = true)]
    public static extern int Dup2(int oldFd, int newFd);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static extern int Fcntl(int fd, int command, int argument);

    public static string LastErrorText() => Marshal.GetLastPInvokeErrorMessage();
}
