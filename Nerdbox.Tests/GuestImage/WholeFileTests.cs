using Nerdbox.Engine.Host;

namespace Nerdbox.Tests.GuestImage;

/// <summary>A file of the image cache (or any kept answer) written whole or not at all: a reader sees the old content or the new, and a failure leaves nothing behind.</summary>
public sealed class WholeFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nerdbox-wholefile-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void The_new_content_replaces_the_old_and_no_temporary_file_stays()
    {
        var path = Path.Combine(_dir, "kept");
        File.WriteAllText(path, "old content, longer than the new");

        WholeFile.WriteText(path, "new");

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_writer_that_fails_leaves_the_old_file_as_it_was_and_no_temporary_file()
    {
        var path = Path.Combine(_dir, "kept");
        File.WriteAllText(path, "old");

        var e = Assert.Throws<InvalidOperationException>(() => WholeFile.Write(path, stream =>
        {
            stream.Write("half of the new"u8);
            throw new InvalidOperationException("the writer failed");
        }));

        Assert.Equal("the writer failed", e.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_directory_that_does_not_exist_is_an_error_named_by_the_file_system()
    {
        var path = Path.Combine(_dir, "missing", "kept");

        Assert.Throws<DirectoryNotFoundException>(() => WholeFile.WriteText(path, "x"));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }
}
