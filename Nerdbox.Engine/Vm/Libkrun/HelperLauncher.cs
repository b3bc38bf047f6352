using System.Reflection;

namespace Nerdbox.Engine.Vm.Libkrun;

/// <summary>
/// How to start the shim's own executable as a helper: the running host when the shim is the
/// program (<c>nerdbox-shim</c>, or <c>dotnet nerdbox-shim.dll</c>), else (the shim hosted by another
/// program, as in tests) the shim's assembly through the dotnet host.
/// </summary>
internal static class HelperLauncher
{
    public static IReadOnlyList<string> Command()
    {
        var shim = typeof(HelperLauncher).Assembly;
        var processPath = Environment.ProcessPath;
        var isDotnetHost = processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet";
        if (Assembly.GetEntryAssembly() == shim && processPath is not null)
            return isDotnetHost ? [processPath, shim.Location] : [processPath];
        if (string.IsNullOrEmpty(shim.Location))
            throw new VmException("cannot find the shim's executable to start the libkrun helper");
        var dotnet = isDotnetHost ? processPath!
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        return [dotnet, shim.Location];
    }
}
