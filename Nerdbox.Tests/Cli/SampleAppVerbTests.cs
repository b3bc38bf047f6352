using System.Text.Json.Nodes;
using Nerdbox.Engine.Bundles;

namespace Nerdbox.Tests.Cli;

/// <summary><c>sample DIR --app</c> writes the app sample: busybox, the script as the container's process, its settings.</summary>
public sealed class SampleAppVerbTests : IDisposable
{
    private readonly ShimExecutable _shim = new();

    public void Dispose() => _shim.Dispose();

    [Fact]
    public async Task Sample_app_writes_a_bundle_whose_process_is_the_app_script()
    {
        var dir = Path.Combine(_shim.WorkDir, "app");
        var r = await _shim.RunAsync("sample", dir, "--app");
        Assert.True(r.ExitCode == 0, r.ToString());

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        var args = config["process"]!["args"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Equal(["sh", SampleBundle.AppScriptPath, "hello from a nerdbox sample app"], args);
        // The bundle sets none of the OpenTelemetry variables: the agent gives them, and the bundle's own would win.
        Assert.DoesNotContain(config["process"]!["env"]!.AsArray(), e => ((string)e!).StartsWith("OTEL_") || ((string)e!).StartsWith("TRACEPARENT"));
        var rootfs = Path.Combine(dir, "rootfs");
        var script = File.ReadAllText(Path.Combine(rootfs, SampleBundle.AppScriptPath.TrimStart('/')));
        Assert.Contains("$OTEL_EXPORTER_OTLP_ENDPOINT", script);
        Assert.Contains("$TRACEPARENT", script);
        Assert.True(File.Exists(Path.Combine(rootfs, SampleBundle.AppSettingsPath.TrimStart('/'))));
        // Every applet the script calls is linked in the rootfs.
        foreach (var applet in new[] { "sh", "wget", "hexdump", "sed", "tr", "cut", "head", "sha256sum", "timeout" })
            Assert.True(File.Exists(Path.Combine(rootfs, "bin", applet)), $"no /bin/{applet} in the bundle");
    }
}
