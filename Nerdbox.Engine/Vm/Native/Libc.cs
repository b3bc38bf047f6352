using Nerdbox.Api.Contract;
using System.Runtime.InteropServices;

namespace Nerdbox.Engine.Vm.Native;

/// <summary>
/// The few libc calls the engine needs: signals, descriptors, AF_VSOCK sockets (which .NET refuses to make), and a
/// file's owner (which .NET does not give).
/// </summary>
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

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint STATX_BASIC_STATS = 0x7FF;

    /// <summary>struct statx is 256 bytes, laid out alike on every architecture; read with <see cref="StatxFields"/>.</summary>
    public const int StatxSize = 256;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    public static extern int Statx(int dirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);

    /// <summary>The fields of a struct statx the engine reads, at their offsets in linux/stat.h.</summary>
    public static (uint Nlink, uint Uid, uint Gid, ushort Mode, ulong Ino, ulong Size, long MtimeSeconds, uint DevMajor, uint DevMinor) StatxFields(ReadOnlySpan<byte> b) => (
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(b[28..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b[40..]),
        System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(b[112..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b[136..]),
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b[140..]));

    public static string LastErrorText() => Marshal.GetLastPInvokeErrorMessage();
}
