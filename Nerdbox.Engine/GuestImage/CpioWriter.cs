using System.Text;

namespace Nerdbox.Engine.GuestImage;

/// <summary>
/// Who owns an entry and when it last changed, as the kernel gives them to the file it unpacks. The image's own files
/// are root's, at time zero (<see cref="Root"/>); a bundle's rootfs keeps its owners and times.
/// </summary>
public readonly record struct CpioOwner(uint Uid, uint Gid, long MtimeSeconds)
{
    public static readonly CpioOwner Root = new(0, 0, 0);
}

/// <summary>
/// Writes an uncompressed initramfs in the kernel's "newc" cpio format (the fastest to unpack). Archives written one after
/// another into one file are one initramfs: the kernel unpacks each in turn.
/// </summary>
public sealed class CpioWriter(Stream output) : IDisposable
{
    private const int S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000;
    private const int PermissionBits = 0xFFF; // 07777: permissions with set-user-ID, set-group-ID and sticky
    private uint _ino = 1;

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    public void Directory(string path, int mode = 0x1ED /* 0755 */, CpioOwner owner = default) =>
        Entry(path, S_IFDIR | (mode & PermissionBits), [], owner, _ino++, nlink: 2);

    public void File(string path, byte[] content, int mode = 0x1ED, CpioOwner owner = default) =>
        Entry(path, S_IFREG | (mode & PermissionBits), content, owner, _ino++, nlink: 1);

    /// <summary>
    /// One of the names of a file with <paramref name="links"/> names, all given the same <paramref name="linkId"/> (from
    /// <see cref="NewLinkId"/>). The kernel links every later name to the first, so only the first carries the content.
    /// </summary>
    public void HardLinkedFile(string path, byte[] content, int mode, CpioOwner owner, uint linkId, int links) =>
        Entry(path, S_IFREG | (mode & PermissionBits), content, owner, linkId, nlink: links);

    /// <summary>An inode number for the names of one hard-linked file.</summary>
    public uint NewLinkId() => _ino++;

    public void Symlink(string path, string target, CpioOwner owner = default) =>
        Entry(path, S_IFLNK | 0x1FF, Encoding.UTF8.GetBytes(target), owner, _ino++, nlink: 1);

    public void CharDevice(string path, int major, int minor, int mode = 0x180 /* 0600 */) =>
        Entry(path, S_IFCHR | mode, [], CpioOwner.Root, _ino++, nlink: 1, rdevMajor: major, rdevMinor: minor);

    private void Entry(string path, int mode, byte[] data, CpioOwner owner, uint ino, int nlink, int rdevMajor = 0, int rdevMinor = 0)
    {
        var name = Encoding.UTF8.GetBytes(path.TrimStart('/') + "\0");
        var header = new StringBuilder("070701");
        foreach (var field in new long[] { ino, mode, owner.Uid, owner.Gid, nlink, owner.MtimeSeconds, data.Length, 0, 0, rdevMajor, rdevMinor, name.Length, 0 })
            header.Append(((uint)field).ToString("x8"));
        var headerBytes = Encoding.ASCII.GetBytes(header.ToString());
        Write(headerBytes);
        Write(name);
        Pad(headerBytes.Length + name.Length);
        Write(data);
        Pad(data.Length);
    }

    private void Write(byte[] bytes)
    {
        output.Write(bytes);
        Length += bytes.Length;
    }

    private void Pad(int written)
    {
        var pad = (4 - written % 4) % 4;
        for (var i = 0; i < pad; i++) output.WriteByte(0);
        Length += pad;
    }

    public void Dispose()
    {
        Entry("TRAILER!!!", 0, [], CpioOwner.Root, 0, nlink: 1);
        output.Flush();
    }
}
