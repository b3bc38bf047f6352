namespace Nerdbox.Fuzz.Harnesses;

/// <summary>Files the harnesses that read from disk write their input to: one folder per process, removed at a normal exit.</summary>
internal static class Scratch
{
    private static readonly Lazy<string> Root = new(() =>
    {
        // fuzz.sh names a folder (in memory, and removed after afl-fuzz, which ends the process with SIGKILL).
        var parent = Environment.GetEnvironmentVariable("NERDBOX_FUZZ_SCRATCH") is { Length: > 0 } given ? given : Path.GetTempPath();
        var root = Path.Combine(parent, $"nerdbox-fuzz-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(root, recursive: true); } catch (IOException) { }
        };
        return root;
    });

    public static string Directory(string name) => System.IO.Directory.CreateDirectory(Path.Combine(Root.Value, name)).FullName;
}
