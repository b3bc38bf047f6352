using System.Reflection;
using Nerdbox.Fuzz.Harnesses;

namespace Nerdbox.Tests.Fuzzing;

/// <summary>Where the fuzz harnesses, their seed corpus and their regression inputs are.</summary>
internal static class FuzzProject
{
    public static string Directory => Metadata("FuzzProjectDirectory");

    /// <summary>The built Nerdbox.Fuzz, of which the fuzz pass instruments a copy.</summary>
    public static string BuildDirectory => Metadata("FuzzBuildDirectory");

    /// <summary>Every committed input of a harness: its seed corpus and the inputs of findings fixed.</summary>
    public static IEnumerable<(IFuzzHarness Harness, string File)> Inputs() =>
        from h in FuzzHarnesses.All.Append(FuzzHarnesses.Canary)
        from folder in new[] { "corpus", "regressions" }
        let dir = Path.Combine(Directory, folder, h.Name)
        where System.IO.Directory.Exists(dir)
        from file in System.IO.Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal)
        select (h, Path.GetRelativePath(Directory, file));

    private static string Metadata(string key) => typeof(FuzzProject).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == key).Value!;
}
