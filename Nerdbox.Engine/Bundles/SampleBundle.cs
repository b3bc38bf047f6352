using System.Text.Json.Nodes;
using Nerdbox.Engine.Host;

namespace Nerdbox.Engine.Bundles;

/// <summary>
/// Makes a small OCI bundle from the host's static busybox: a rootfs with busybox and its applet
/// links, and a config.json that runs the given command. The app sample (<see cref="CreateAppAsync"/>) runs a
/// script that traces its own start-up to the OTLP endpoint the agent gives the container.
/// </summary>
public static class SampleBundle
{
    public static readonly string[] Applets =
    [
        "sh", "echo", "cat", "ls", "sleep", "true", "false", "uname", "env", "id", "hostname", "date", "mount", "ps", "seq", "wc", "head", "dd",
        // What scripts that speak OTLP/HTTP need: ids, JSON text, posting, time limits, and a look at the network.
        "wget", "hexdump", "od", "sed", "tr", "cut", "awk", "grep", "printf", "sha256sum", "timeout", "ip", "tail", "nc",
    ];

    /// <summary>Where the app sample's script lives in its rootfs, and its settings file.</summary>
    public const string AppScriptPath = "/app/sample-app.sh";
    public const string AppSettingsPath = "/etc/sample-app.conf";

    /// <summary>The service name the app sample's spans carry.</summary>
    public const string AppServiceName = "sample-app";

    /// <summary>The app sample's spans, in the order it makes them; the last one ends when the app is ready.</summary>
    public static readonly string[] AppSpans = ["app.LoadConfig", "app.Ready"];

    /// <summary>
    /// A bundle whose process is the sample app: it prints <paramref name="greeting"/>, and posts its spans as
    /// OTLP/JSON to <c>$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces</c> under <c>$TRACEPARENT</c> (or says it cannot).
    /// </summary>
    public static async Task CreateAppAsync(string directory, string greeting, CancellationToken ct = default)
    {
        await CreateAsync(directory, ["sh", AppScriptPath, greeting], ct);
        var rootfs = Path.Combine(directory, "rootfs");
        await using (var script = typeof(SampleBundle).Assembly.GetManifestResourceStream("Nerdbox.Engine.Bundles.sample-app.sh")
            ?? throw new InvalidOperationException("the sample app's script is not embedded"))
        {
            Directory.CreateDirectory(Path.Combine(rootfs, "app"));
            await using var file = File.Create(Path.Combine(rootfs, AppScriptPath.TrimStart('/')));
            await script.CopyToAsync(file, ct);
        }
        await File.WriteAllTextAsync(Path.Combine(rootfs, AppSettingsPath.TrimStart('/')), "# the sample app's settings\nlisten=:8080\nworkers=2\nlog.level=info\n", ct);
    }

    public static async Task CreateAsync(string directory, IReadOnlyList<string> args, CancellationToken ct = default)
    {
        var busybox = HostTools.Find("busybox")
            ?? throw new Bundles.BundleException("busybox not found; install it with: apt-get install -y busybox-static");
        var ldd = await HostTools.RunAsync("ldd", [busybox], ct: ct);
        if (!ldd.Output.Contains("not a dynamic executable"))
            throw new Bundles.BundleException($"{busybox} is not static; install the static one with: apt-get install -y busybox-static");
        var rootfs = Path.Combine(directory, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        foreach (var d in new[] { "proc", "sys", "dev", "tmp", "etc", "root" }) Directory.CreateDirectory(Path.Combine(rootfs, d));
        var target = Path.Combine(rootfs, "bin", "busybox");
        File.Copy(busybox, target, overwrite: true);
        foreach (var applet in Applets)
        {
            var link = Path.Combine(rootfs, "bin", applet);
            if (File.Exists(link) || Directory.Exists(link)) File.Delete(link);
            File.CreateSymbolicLink(link, "busybox");
        }
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(directory, "config.json"), Config(args).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    public static JsonObject Config(IReadOnlyList<string> args) => new()
    {
        ["ociVersion"] = "1.0.2",
        ["process"] = new JsonObject
        {
            ["terminal"] = false,
            ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
            ["args"] = new JsonArray(args.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            ["env"] = new JsonArray("PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOME=/root"),
            ["cwd"] = "/",
            ["noNewPrivileges"] = true,
        },
        ["root"] = new JsonObject { ["path"] = "rootfs", ["readonly"] = false },
        ["hostname"] = "container",
        ["mounts"] = new JsonArray(
            Mount("/proc", "proc", "proc", []),
            Mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Mount("/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
            Mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
            Mount("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777"])),
        ["linux"] = new JsonObject
        {
            ["namespaces"] = new JsonArray(Ns("pid"), Ns("ipc"), Ns("uts"), Ns("mount")),
        },
    };

    private static JsonObject Mount(string destination, string type, string source, string[] options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = new JsonArray(options.Select(o => (JsonNode)JsonValue.Create(o)!).ToArray()),
    };

    private static JsonObject Ns(string type) => new() { ["type"] = type };
}
