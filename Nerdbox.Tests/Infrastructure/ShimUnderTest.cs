using Nerdbox.Engine.Host;

namespace Nerdbox.Tests.Infrastructure;

/// <summary>
/// The shim program that tests start as a process: the build's <c>nerdbox-shim.dll</c> through dotnet,
/// or, with <c>NERDBOX_TEST_SHIM</c> naming one, a published executable (a NativeAOT or ReadyToRun
/// publish), so that the same tests check what users install.
/// </summary>
public static class ShimUnderTest
{
    public const string Variable = "NERDBOX_TEST_SHIM";

    /// <summary>The program and its leading arguments.</summary>
    public static (string Program, string[] Args) Command()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } published) return ("dotnet", [ShimProgram.AssemblyPath]);
        var path = Path.GetFullPath(published);
        if (!File.Exists(path)) throw new FileNotFoundException($"{Variable} names no file: {path}", path);
        return (path, []);
    }
}
