using Nerdbox.Engine.GuestImage;
using Nerdbox.Shim;
using Nerdbox.Engine.Host;

namespace Nerdbox.Tests.Aspire;

/// <summary>The committed aspire-manifest.json is what the AppHost's manifest publisher makes now.</summary>
public sealed class ManifestTests
{
    [Fact]
    public async Task The_committed_manifest_matches_a_fresh_one()
    {
        var root = SourceTree.FindRoot() ?? throw new InvalidOperationException("no source tree");
        var committed = Path.Combine(root, "aspire-manifest.json");
        // Written beside the committed one, so that the paths inside it are relative to the same folder.
        var fresh = Path.Combine(root, $".aspire-manifest.{Guid.NewGuid():N}.json");
        try
        {
            var r = await HostTools.RunAsync("dotnet",
                ["run", "--project", Path.Combine(root, "Nerdbox.AppHost"), "--no-build", "--no-launch-profile", "--",
                 "--publisher", "manifest", "--output-path", fresh],
                workDir: root, timeout: TimeSpan.FromMinutes(3));
            Assert.True(r.ExitCode == 0 && File.Exists(fresh), $"the manifest publisher failed ({r.ExitCode}): {r.Output}");
            Assert.True(File.Exists(committed), "aspire-manifest.json is not committed at the repository root");
            Assert.Equal(File.ReadAllText(committed).ReplaceLineEndings().Trim(), File.ReadAllText(fresh).ReplaceLineEndings().Trim());
        }
        finally
        {
            File.Delete(fresh);
        }
    }
}
