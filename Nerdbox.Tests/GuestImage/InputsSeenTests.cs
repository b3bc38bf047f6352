using Nerdbox.Engine.GuestImage;

namespace Nerdbox.Tests.GuestImage;

/// <summary>
/// The shortcut of the image check: the inputs' sizes and modification times as they were when their content last
/// matched; any change there sends the check back to hashing the content.
/// </summary>
public sealed class InputsSeenTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nb-inputs-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    [Fact]
    public void An_unchanged_tree_matches_what_was_recorded_and_any_change_to_a_file_or_the_kernel_does_not()
    {
        var a = Write("Agent/Program.cs", "class P {}");
        var b = Write("api/x.proto", "syntax = \"proto3\";");
        var image = Directory.CreateDirectory(Path.Combine(_root, "image")).FullName;
        var files = new[] { ("Agent/Program.cs", a), ("api/x.proto", b) };
        var seen = InputsSeen.Describe("linux-image-1", files);

        Assert.False(InputsSeen.Match(image, seen)); // nothing recorded yet
        InputsSeen.Record(image, seen);
        Assert.True(InputsSeen.Match(image, InputsSeen.Describe("linux-image-1", files)));
        Assert.Contains("Agent/Program.cs ", seen); // by label, not path, so a moved clone only hashes once
        Assert.DoesNotContain(_root, seen);

        Assert.False(InputsSeen.Match(image, InputsSeen.Describe("linux-image-2", files)));
        File.SetLastWriteTimeUtc(a, File.GetLastWriteTimeUtc(a).AddTicks(1)); // same size, touched
        Assert.False(InputsSeen.Match(image, InputsSeen.Describe("linux-image-1", files)));
        InputsSeen.Record(image, InputsSeen.Describe("linux-image-1", files));
        var written = File.GetLastWriteTimeUtc(b);
        File.WriteAllText(b, "syntax = \"proto2\";;");
        File.SetLastWriteTimeUtc(b, written); // same time, another size
        Assert.False(InputsSeen.Match(image, InputsSeen.Describe("linux-image-1", files)));
        Assert.False(InputsSeen.Match(image, InputsSeen.Describe("linux-image-1", [files[0]]))); // a file gone
    }

    private string Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }
}
