namespace Nerdbox.Engine.GuestImage;

/// <summary>The project's source tree, where the guest agent is built from.</summary>
public static class SourceTree
{
    /// <summary>NERDBOX_SOURCE_ROOT, else the nearest folder above the shim that holds Nerdbox.sln.</summary>
    public static string? FindRoot()
    {
        if (Environment.GetEnvironmentVariable("NERDBOX_SOURCE_ROOT") is { Length: > 0 } env && File.Exists(Path.Combine(env, "Nerdbox.sln")))
            return env;
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Nerdbox.sln"))) return dir.FullName;
        }
        return null;
    }

    /// <summary>The projects the agent binary is compiled from: the agent, the contract library and the HTTP/2 server it links.</summary>
    public static readonly string[] AgentProjects = ["Nerdbox.GuestAgent", "Nerdbox.Api", "Nerdbox.Http2"];

    /// <summary>Every file the agent binary is made from: its projects' sources, the protocol files and the build settings.</summary>
    public static IEnumerable<string> AgentInputs(string root)
    {
        var sources = AgentProjects.Select(p => Path.Combine(root, p)).Where(Directory.Exists)
            .SelectMany(p => Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/bin/") && !f.Contains("/obj/"));
        var protos = Directory.EnumerateFiles(Path.Combine(root, "api"), "*.proto", SearchOption.AllDirectories);
        var props = new[] { "Directory.Build.props", "Directory.Packages.props" }.Select(p => Path.Combine(root, p)).Where(File.Exists);
        return sources.Concat(protos).Concat(props).Order(StringComparer.Ordinal);
    }
}
