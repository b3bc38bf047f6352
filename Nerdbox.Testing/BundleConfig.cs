using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nerdbox.Testing;

/// <summary>A test bundle's <c>config.json</c>, changed in place.</summary>
public static class BundleConfig
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Reads the bundle's config.json, lets <paramref name="edit"/> change it, and writes it back.</summary>
    public static void Edit(string bundle, Action<JsonObject> edit)
    {
        var path = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString(Indented));
    }
}
