using System.Text;

namespace Nerdbox.Engine.GuestImage;

/// <summary>Writes an uncompressed initramfs in the kernel's "newc" cpio format (the fastest to unpack).</summary>
public sealed class CpioWriter(Stream output) : IDisposable
{
    private const int S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000;
    private int _ino = 1;

    public void Directory(string path, int mode = 0x1ED /* 0755 */) => Entry(path, S_IFDIR | mode, [], nlink: 2);

    public void File(string path, byte[] content, int mode = 0x1ED) => Entry(path, S_IFREG | mode, content);

    public void Symlink(string path, string target) => Entry(path, S_IFLNK | 0x1FF, Encoding.UTF8.GetBytes(target));

    public void CharDevice(string path, int major, int minor, int mode = 0x180 /* 0600 */) =>
        Entry(path, S_IFCHR | mode, [], rdevMajor: major, rdevMinor: minor);

    private void Entry(string path, int mode, byte[] data, int nlink = 1, int rdevMajor = 0, int rdevMinor = 0)
    {
        var name = Encoding.UTF8.GetBytes(path.TrimStart('/') + "\0");
        var header = new StringBuilder("070701");
        foreach (var field in new long[] { _ino++, mode, 0, 0, nlink, 0, data.Length, 0, 0, rdevMajor, rdevMinor, name.Length, 0 })
            header.Append(field.ToString("x8"));
        var headerBytes = Encoding.ASCII.GetBytes(header.ToString());
        output.Write(headerBytes);
        output.Write(name);
        Pad(headerBytes.Length + name.Length);
        output.Write(data);
        Pad(data.Length);
    }

    private void Pad(int written)
    {
        var pad = (4 - written % 4) % 4;
        for (var i = 0; i < pad; i++) output.WriteByte(0);
    }

    public void Dispose()
    {
        Entry("TRAILER!!!", 0, []);
        output.Flush();
    }
}
