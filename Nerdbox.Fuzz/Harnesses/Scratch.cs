namespace Nerdbox.Fuzz.Harnesses;

/// <summary>Files the harnesses that read from disk write their input to: one folder per process, removed at exit.</summary>
internal static class Scratch
{
    private static readonly Lazy<string> Root = new(() =>
    {
        // In memory where the machine has it: the file targets write every input.
        var root = Path.Combine(System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"nerdbox-fuzz-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(root, recursive: true); } catch (IOException) { }
        };
        return root;
    });

    public static string Directory(string name) => System.IO.Directory.CreateDirectory(Path.Combine(Root.Value, name)).FullName;
}
