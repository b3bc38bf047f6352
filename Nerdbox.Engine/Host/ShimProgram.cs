using System.Reflection;

namespace Nerdbox.Engine.Host;

/// <summary>
/// How to start the shim's executable again (as the libkrun helper, or as a served shim): the running
/// program when the shim is it (<c>nerdbox-shim</c>, a NativeAOT or ReadyToRun publish, or
/// <c>dotnet nerdbox-shim.dll</c>), else (the engine hosted by another program, as in tests)
/// <c>nerdbox-shim.dll</c> beside the engine, through the dotnet host.
/// </summary>
public static class ShimProgram
{
    /// <summary>The shim executable's assembly name.</summary>
    public const string AssemblyName = "nerdbox-shim";

    /// <summary>The shim's assembly beside this program (a NativeAOT publish has none).</summary>
    public static string AssemblyPath => Path.Combine(AppContext.BaseDirectory, AssemblyName + ".dll");

    /// <summary>The program and its leading arguments.</summary>
    public static IReadOnlyList<string> Command()
    {
        var processPath = Environment.ProcessPath;
        var isDotnetHost = processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet";
        if (Assembly.GetEntryAssembly() is { } entry && entry.GetName().Name == AssemblyName && processPath is not null)
            return isDotnetHost ? [processPath, AssemblyPath] : [processPath];
        if (!File.Exists(AssemblyPath))
            throw new FileNotFoundException($"cannot find the shim's executable ({AssemblyPath})", AssemblyPath);
        var dotnet = isDotnetHost ? processPath!
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        return [dotnet, AssemblyPath];
    }
}
