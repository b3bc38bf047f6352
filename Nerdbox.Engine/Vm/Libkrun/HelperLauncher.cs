using System.Reflection;

namespace Nerdbox.Engine.Vm.Libkrun;

/// <summary>
/// How to start the shim's executable as a helper: the running host when the shim is the program
/// (<c>nerdbox-shim</c>, or <c>dotnet nerdbox-shim.dll</c>), else (the engine hosted by another program,
/// as in tests) <c>nerdbox-shim.dll</c> beside the engine, through the dotnet host.
/// </summary>
internal static class HelperLauncher
{
    /// <summary>The shim executable's assembly, which carries the hidden helper verb.</summary>
    public const string ShimAssembly = "nerdbox-shim";

    public static IReadOnlyList<string> Command()
    {
        var processPath = Environment.ProcessPath;
        var isDotnetHost = processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet";
        if (Assembly.GetEntryAssembly() is { } entry && entry.GetName().Name == ShimAssembly && processPath is not null)
            return isDotnetHost ? [processPath, entry.Location] : [processPath];
        var shim = Path.Combine(AppContext.BaseDirectory, ShimAssembly + ".dll");
        if (!File.Exists(shim))
            throw new VmException($"cannot find the shim's executable to start the libkrun helper ({shim})");
        var dotnet = isDotnetHost ? processPath!
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        return [dotnet, shim];
    }
}
