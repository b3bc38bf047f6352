using System.Text;
using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.GuestImage;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Bundles;

/// <summary>
/// A small rootfs goes to the guest in its initramfs: an archive after the image's, which keeps owners, modes, times,
/// links and hard links; what it cannot carry or what is too large keeps the disk, and says why.
/// </summary>
public sealed class RootfsArchiveTests : IDisposable
{
    private static readonly DateTime Mtime = new(2023, 11, 14, 22, 13, 20, DateTimeKind.Utc);
    private readonly string _dir = Directory.CreateTempSubdirectory("nerdbox-rootfs-").FullName;

    private string Rootfs => Path.Combine(_dir, "rootfs");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_archive_follows_the_images_and_keeps_owners_modes_times_links_and_hard_links()
    {
        Directory.CreateDirectory(Path.Combine(Rootfs, "bin"));
        var tool = Path.Combine(Rootfs, "bin", "tool");
        File.WriteAllText(tool, "#!/bin/sh\necho tool\n");
        // Owner first: a change of owner clears the set-user-ID bit.
        HostCommand.Run("chown", "1234:5678", tool);
        File.SetUnixFileMode(tool, (UnixFileMode)0x9C8 /* 04710 */);
        File.SetLastWriteTimeUtc(tool, Mtime);
        HostCommand.Run("ln", tool, Path.Combine(Rootfs, "bin", "tool-too"));
        File.CreateSymbolicLink(Path.Combine(Rootfs, "bin", "sh"), "tool");
        var image = ImageInitrd();

        var (archive, refusal) = RootfsArchive.Scan(Rootfs);
        Assert.Null(refusal);
        Assert.NotNull(archive);
        // The hard-linked file counts once; the link's target counts too.
        Assert.Equal(new FileInfo(tool).Length + "tool".Length, archive.Bytes);
        var initrd = Path.Combine(_dir, "initrd.cpio");
        var appended = archive.WriteInitrd(image, initrd);
        Assert.Equal(new FileInfo(initrd).Length - new FileInfo(image).Length, appended);

        var bytes = File.ReadAllBytes(initrd);
        Assert.Equal(File.ReadAllBytes(image), bytes[..(int)new FileInfo(image).Length]);
        var entries = NewcArchive.Read(bytes);
        Assert.Equal(["init", "TRAILER!!!", "nerdbox", "nerdbox/rootfs", "nerdbox/rootfs/bin", "nerdbox/rootfs/bin/sh",
            "nerdbox/rootfs/bin/tool", "nerdbox/rootfs/bin/tool-too", "TRAILER!!!"], entries.Select(e => e.Name));
        var first = entries.Single(e => e.Name == "nerdbox/rootfs/bin/tool");
        var second = entries.Single(e => e.Name == "nerdbox/rootfs/bin/tool-too");
        Assert.Equal((0x8000 | 0x9C8, 1234u, 5678u, (uint)new DateTimeOffset(Mtime).ToUnixTimeSeconds()), (first.Mode, first.Uid, first.Gid, first.Mtime));
        // Both names of the hard-linked file share an inode; the kernel links the second to the first, which alone carries the content.
        Assert.Equal((first.Ino, 2u, "#!/bin/sh\necho tool\n"), (second.Ino, second.Nlink, Encoding.ASCII.GetString(first.Data)));
        Assert.Equal(2u, first.Nlink);
        Assert.Empty(second.Data);
        var link = entries.Single(e => e.Name == "nerdbox/rootfs/bin/sh");
        Assert.Equal((0xA000, "tool"), (link.Mode & 0xF000, Encoding.ASCII.GetString(link.Data)));
        Assert.Equal(0x4000 | 0x1C0, entries.Single(e => e.Name == "nerdbox").Mode);
    }

    [Fact]
    public void A_FIFO_keeps_the_disk_and_is_named()
    {
        Directory.CreateDirectory(Path.Combine(Rootfs, "run"));
        HostCommand.Run("mkfifo", Path.Combine(Rootfs, "run", "pipe"));
        var (archive, refusal) = RootfsArchive.Scan(Rootfs);
        Assert.Null(archive);
        Assert.Equal("'run/pipe' is a device node, FIFO or socket, which the initramfs does not carry", refusal);
    }

    [Fact]
    public void A_rootfs_past_the_byte_limit_keeps_the_disk()
    {
        Directory.CreateDirectory(Rootfs);
        // Sparse: large to the scan, nothing on the disk.
        using (var f = File.Create(Path.Combine(Rootfs, "big"))) f.SetLength(RootfsArchive.MaxBytes + 1);
        var (archive, refusal) = RootfsArchive.Scan(Rootfs);
        Assert.Null(archive);
        Assert.Equal("it holds more than 16 MiB", refusal);
    }

    [Fact]
    public void A_rootfs_past_the_entry_limit_keeps_the_disk()
    {
        Directory.CreateDirectory(Rootfs);
        for (var i = 0; i < RootfsArchive.MaxEntries; i++) File.WriteAllBytes(Path.Combine(Rootfs, $"f{i}"), []);
        var (archive, refusal) = RootfsArchive.Scan(Rootfs);
        Assert.Null(archive);
        Assert.Equal($"it holds more than {RootfsArchive.MaxEntries} entries", refusal);
    }

    [Fact]
    public async Task Auto_takes_the_initramfs_when_the_rootfs_fits_and_the_disk_when_not_saying_why()
    {
        Directory.CreateDirectory(Rootfs);
        File.WriteAllText(Path.Combine(Rootfs, "hello"), "hello\n");
        var image = ImageInitrd();
        var state = Directory.CreateDirectory(Path.Combine(_dir, "state")).FullName;

        var small = await BundleRootfs.PrepareAsync(Rootfs, RootfsVia.Auto, image, state, CancellationToken.None);
        Assert.Equal((RootfsVia.Initramfs, Path.Combine(state, "initrd.cpio"), (string?)null), (small.Via, small.Path, small.Disk));
        Assert.Equal("2 entries, 6 bytes: within the initramfs's 4096 entries and 16777216 bytes", small.Reason);

        var asked = await BundleRootfs.PrepareAsync(Rootfs, RootfsVia.Disk, image, state, CancellationToken.None);
        Assert.Equal((RootfsVia.Disk, "asked for"), (asked.Via, asked.Reason));
        Assert.True(File.Exists(asked.Disk));

        HostCommand.Run("mkfifo", Path.Combine(Rootfs, "pipe"));
        var refused = await BundleRootfs.PrepareAsync(Rootfs, RootfsVia.Auto, image, state, CancellationToken.None);
        Assert.Equal((RootfsVia.Disk, "not in the initramfs: 'pipe' is a device node, FIFO or socket, which the initramfs does not carry"), (refused.Via, refused.Reason));
        var e = await Assert.ThrowsAsync<BundleException>(() => BundleRootfs.PrepareAsync(Rootfs, RootfsVia.Initramfs, image, state, CancellationToken.None));
        Assert.Equal($"rootfs '{Rootfs}' cannot go in the initramfs: 'pipe' is a device node, FIFO or socket, which the initramfs does not carry", e.Message);
    }

    /// <summary>A stand-in for the image's initramfs: an archive of one file.</summary>
    private string ImageInitrd()
    {
        var path = Path.Combine(_dir, "image.cpio");
        using var stream = File.Create(path);
        using var cpio = new CpioWriter(stream);
        cpio.File("init", "init\n"u8.ToArray());
        return path;
    }
}
