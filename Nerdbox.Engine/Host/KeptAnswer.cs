namespace Nerdbox.Engine.Host;

/// <summary>
/// An answer that is slow to get from the host (which kernel package apt names, the VMM's version line), kept in a
/// small file with the key it was got under (a state of the host: apt's lists, a binary's size and time), so that a
/// later process reuses it until the key changes. The file is a key line then an answer line, written whole
/// (<see cref="WholeFile"/>); a missing, oversized or unreadable file is a miss.
/// </summary>
public static class KeptAnswer
{
    private const int MaxBytes = 64 * 1024;

    /// <summary>The answer kept at <paramref name="path"/> under <paramref name="key"/>, or null.</summary>
    public static string? Read(string path, string key)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxBytes) return null;
            return File.ReadAllText(path).Split('\n') is [var kept, var answer, ..] && kept == key && answer.Length > 0 ? answer : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Keeps <paramref name="answer"/> under <paramref name="key"/>; an I/O failure is thrown, with no temporary file left.</summary>
    public static void Write(string path, string key, string answer)
    {
        if (key.Contains('\n') || answer.Contains('\n')) throw new ArgumentException("a kept key or answer is one line");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WholeFile.WriteText(path, key + "\n" + answer + "\n");
    }
}
