using System.Runtime.InteropServices;

namespace Nerdbox.Api.Contract;

/// <summary>
/// struct sockaddr_vm from linux/vm_sockets.h: both ends of a vsock channel make their sockets
/// through libc with it, as .NET does not create AF_VSOCK sockets.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SockaddrVm
{
    public const int AF_VSOCK = 40;

    /// <summary>Any CID: a listener's address.</summary>
    public const uint CidAny = 0xFFFFFFFF;

    public ushort Family;
    public ushort Reserved1;
    public uint Port;
    public uint Cid;
    public uint Zero;

    public static SockaddrVm For(uint cid, uint port) => new() { Family = AF_VSOCK, Cid = cid, Port = port };
}
