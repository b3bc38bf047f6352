namespace Nerdbox.Engine.Vm;

/// <summary>Error-report text from a VM's console log and its VMM's own messages.</summary>
internal static class ConsoleLog
{
    /// <summary>The console's last lines (read from the end of the file), then the VMM's, under a heading each.</summary>
    public static string Tail(string consoleLogPath, string vmmName, IReadOnlyList<string> vmmOutput, int maxLines)
    {
        var lines = new List<string>();
        try
        {
            if (File.Exists(consoleLogPath))
            {
                using var fs = new FileStream(consoleLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                var start = Math.Max(0, fs.Length - 16384);
                fs.Seek(start, SeekOrigin.Begin);
                lines.AddRange(new StreamReader(fs).ReadToEnd().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).TakeLast(maxLines));
            }
        }
        catch (IOException) { }
        var text = "--- console (last lines) ---\n" + (lines.Count == 0 ? "(empty)" : string.Join('\n', lines));
        if (vmmOutput.Count > 0) text += $"\n--- {vmmName} ---\n" + string.Join('\n', vmmOutput.TakeLast(10));
        return text;
    }
}
