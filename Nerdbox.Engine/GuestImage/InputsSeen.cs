using System.Text;
using Nerdbox.Engine.Host;

namespace Nerdbox.Engine.GuestImage;

/// <summary>
/// What the image's inputs looked like when their content last matched the cached image: each file's path, size and
/// modification time (to the tick), and the kernel package. While that is unchanged, the check that every <c>run</c>
/// makes skips reading and hashing the inputs (and starting the runtime's cryptography for it), as make and MSBuild
/// skip unchanged inputs. An edit that keeps both a file's size and its modification time is the one it would miss.
/// </summary>
public static class InputsSeen
{
    private const string FileName = "inputs-seen";

    /// <summary>The kernel package, then each input by its label (a path in the source tree, or a tool's name).</summary>
    public static string Describe(string kernelPackage, IEnumerable<(string Label, string Path)> files)
    {
        var text = new StringBuilder("kernel ").Append(kernelPackage).Append('\n');
        foreach (var (label, path) in files)
        {
            var info = new FileInfo(path);
            text.Append(label)
                .Append(' ').Append(info.Exists ? info.Length : -1)
                .Append(' ').Append(info.Exists ? info.LastWriteTimeUtc.Ticks : 0)
                .Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Whether <paramref name="described"/> is what was recorded beside the image in <paramref name="imageDirectory"/>.</summary>
    public static bool Match(string imageDirectory, string described)
    {
        var path = Path.Combine(imageDirectory, FileName);
        try
        {
            return File.Exists(path) && File.ReadAllText(path) == described;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Records <paramref name="described"/> beside the image, whole or not at all.</summary>
    public static void Record(string imageDirectory, string described)
    {
        var path = Path.Combine(imageDirectory, FileName);
        try
        {
            WholeFile.WriteText(path, described);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a shortcut: without it the next check hashes the inputs again.
        }
    }
}
