using System.Diagnostics;

namespace Nerdbox.AppHost.Jaeger;

/// <summary>
/// Asks the container runtime Aspire would use (ASPIRE_CONTAINER_RUNTIME, default docker) whether
/// its engine answers. A client without an engine (as on machines without Docker) answers no.
/// </summary>
public static class ContainerRuntimeProbe
{
    public sealed record Result(bool Available, string Reason);

    public static Result Probe()
    {
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME") is { Length: > 0 } r ? r : "docker";
        try
        {
            var psi = new ProcessStartInfo(runtime, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(10_000))
            {
                p.Kill(true);
                return new(false, $"'{runtime} info' did not answer within 10 s");
            }
            if (p.ExitCode == 0) return new(true, $"{runtime} {stdout.Result.Trim()}");
            var why = (stderr.Result + stdout.Result).Trim().Split('\n').FirstOrDefault(l => l.Length > 0) ?? $"exit {p.ExitCode}";
            return new(false, $"{runtime} has no engine ({why.Trim()})");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return new(false, $"no container runtime ({runtime} is not installed)");
        }
    }
}
