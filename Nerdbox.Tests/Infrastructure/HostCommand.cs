using System.Diagnostics;

namespace Nerdbox.Tests.Infrastructure;

/// <summary>A host program a test needs for what .NET cannot do (chown, mkfifo, ln), which must succeed.</summary>
public static class HostCommand
{
    public static void Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)}: exit {p.ExitCode}: {error}");
    }
}
