using System.Text;

namespace Nerdbox.Engine.Host;

/// <summary>
/// A file written whole or not at all: into a temporary file beside it, then renamed over it, so that a reader (another
/// process, a later run) never sees half of it; a failure is thrown and leaves no temporary file behind.
/// </summary>
public static class WholeFile
{
    /// <summary>Writes <paramref name="path"/> with what <paramref name="write"/> puts into the stream it is given.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var temporary = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var stream = File.Create(temporary)) write(stream);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte order mark), as <see cref="File.WriteAllText(string, string)"/> does.</summary>
    public static void WriteText(string path, string text) => Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)));
}
