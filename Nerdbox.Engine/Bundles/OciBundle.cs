using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nerdbox.Engine.Bundles;

/// <summary>A bundle given to the shim could not be used; the message names the problem.</summary>
public sealed class BundleException(string message) : Exception(message);

/// <summary>
/// An OCI bundle on the host: config.json and a rootfs directory. Checked before any VM boots,
/// so that a bad bundle fails at once with a message naming what is wrong.
/// </summary>
public sealed class OciBundle
{
    /// <summary>Bundle files other than the rootfs that travel to the guest in the bundle RPC.</summary>
    public const long MaxFileBytes = 4 * 1024 * 1024;

    private OciBundle(string path, byte[] config, string rootfs, IReadOnlyDictionary<string, byte[]> files)
    {
        Path = path;
        Config = config;
        RootfsPath = rootfs;
        Files = files;
    }

    public string Path { get; }
    public byte[] Config { get; }
    public string RootfsPath { get; }

    /// <summary>config.json and any other regular files at the bundle's top level.</summary>
    public IReadOnlyDictionary<string, byte[]> Files { get; }

    /// <summary>A key given twice is an error, not a silent choice of one of the values.</summary>
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static OciBundle Load(string path)
    {
        if (!Directory.Exists(path)) throw new BundleException($"bundle '{path}' is not a directory");
        var full = System.IO.Path.GetFullPath(path);
        var configPath = System.IO.Path.Combine(full, "config.json");
        if (!File.Exists(configPath)) throw new BundleException($"bundle '{path}': config.json is missing");
        var config = File.ReadAllBytes(configPath);
        // JSON text is UTF-8; System.Text.Json checks strings only when they are read, and then not with a JsonException.
        if (!System.Text.Unicode.Utf8.IsValid(config)) throw new BundleException($"bundle '{path}': config.json is not UTF-8 text");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(config, documentOptions: Strict) as JsonObject ?? throw new BundleException($"bundle '{path}': config.json is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new BundleException($"bundle '{path}': config.json is not valid JSON: {e.Message}");
        }
        if (root["ociVersion"] is not JsonValue) throw new BundleException($"bundle '{path}': config.json has no ociVersion");
        if (root["process"] is not JsonObject process) throw new BundleException($"bundle '{path}': config.json has no process");
        if (process["args"] is not JsonArray { Count: > 0 } args || args.Any(a => a is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
            throw new BundleException($"bundle '{path}': config.json process.args must be a non-empty list of strings");
        if (process["terminal"] is JsonValue t && t.GetValueKind() == JsonValueKind.True)
            throw new BundleException($"bundle '{path}': config.json asks for a terminal, which is not supported");
        if ((root["root"] as JsonObject)?["path"] is not JsonValue rootValue || !rootValue.TryGetValue<string>(out var rootPath))
            throw new BundleException($"bundle '{path}': config.json has no root.path (a string)");
        if (rootPath.Contains('\0')) throw new BundleException($"bundle '{path}': config.json root.path holds a NUL character");
        var rootfs = System.IO.Path.GetFullPath(System.IO.Path.Combine(full, rootPath));
        if (!Directory.Exists(rootfs)) throw new BundleException($"bundle '{path}': rootfs '{rootPath}' does not exist");
        if (!Directory.EnumerateFileSystemEntries(rootfs).Any()) throw new BundleException($"bundle '{path}': rootfs '{rootPath}' is empty");

        var files = new Dictionary<string, byte[]> { ["config.json"] = config };
        foreach (var f in Directory.EnumerateFiles(full))
        {
            var name = System.IO.Path.GetFileName(f);
            if (name == "config.json" || new FileInfo(f).Length > MaxFileBytes) continue;
            files[name] = File.ReadAllBytes(f);
        }
        return new OciBundle(full, config, rootfs, files);
    }
}
