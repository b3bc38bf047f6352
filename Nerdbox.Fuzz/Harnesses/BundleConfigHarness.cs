using Nerdbox.Engine.Bundles;

namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// A bundle's <c>config.json</c>, checked by <see cref="OciBundle.Load"/> in a scratch bundle whose
/// rootfs exists, and one that passes made into the guest's (<see cref="GuestConfig.Make"/>). Bad configuration may
/// only raise <see cref="BundleException"/>, with a message.
/// </summary>
internal sealed class BundleConfigHarness : IFuzzHarness
{
    private static readonly Lazy<string> Bundle = new(MakeBundle);
    private static readonly System.Diagnostics.ActivityContext Traced = new(System.Diagnostics.ActivityTraceId.CreateRandom(),
        System.Diagnostics.ActivitySpanId.CreateRandom(), System.Diagnostics.ActivityTraceFlags.Recorded);

    public string Name => "bundle-config";
    public string Input => "an OCI bundle's config.json";

    public void Run(byte[] input)
    {
        File.WriteAllBytes(Path.Combine(Bundle.Value, "config.json"), input);
        try
        {
            var bundle = OciBundle.Load(Bundle.Value);
            GuestConfig.Make(bundle.Config, Traced);
        }
        catch (BundleException e) when (e.Message.Length > 0)
        {
        }
    }

    private static string MakeBundle()
    {
        var dir = Scratch.Directory("bundle");
        Directory.CreateDirectory(Path.Combine(dir, "rootfs", "bin"));
        File.WriteAllText(Path.Combine(dir, "rootfs", "bin", "sh"), "");
        return dir;
    }
}
