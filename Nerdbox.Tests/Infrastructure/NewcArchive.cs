using System.Text;

namespace Nerdbox.Tests.Infrastructure;

/// <summary>The entries of concatenated newc archives, as the kernel reads them.</summary>
public static class NewcArchive
{
    public sealed record Entry(string Name, uint Ino, int Mode, uint Uid, uint Gid, uint Nlink, uint Mtime, byte[] Data);

    public static List<Entry> Read(byte[] bytes)
    {
        var entries = new List<Entry>();
        var at = 0;
        while (at < bytes.Length)
        {
            if (bytes[at] == 0) { at++; continue; } // padding between archives
            Assert.Equal("070701", Encoding.ASCII.GetString(bytes, at, 6));
            uint Field(int i) => Convert.ToUInt32(Encoding.ASCII.GetString(bytes, at + 6 + i * 8, 8), 16);
            var (size, nameSize) = ((int)Field(6), (int)Field(11));
            var name = Encoding.UTF8.GetString(bytes, at + 110, nameSize - 1);
            var dataAt = Align(at + 110 + nameSize);
            entries.Add(new Entry(name, Field(0), (int)Field(1), Field(2), Field(3), Field(4), Field(5), bytes[dataAt..(dataAt + size)]));
            at = Align(dataAt + size);
        }
        return entries;
    }

    private static int Align(int n) => (n + 3) & ~3;
}
