using System.CommandLine;
using Nerdbox.Engine.GuestImage;

namespace Nerdbox.Shim.Cli;

/// <summary><c>image build</c>: builds or refreshes the guest image ahead of time (run builds it when needed).</summary>
public static class ImageCommand
{
    public static Command Create()
    {
        var build = new Command("build", "Build the guest image now, or refresh it when an input changed. NERDBOX_IMAGE_DIR moves it.");
        build.SetAction(async (_, ct) =>
        {
            await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, l => Console.Error.WriteLine("nerdbox: " + l)).EnsureAsync(ct);
            return 0;
        });
        return new Command("image", "The guest image: kernel, initramfs with the agent, busybox and crun.") { build };
    }
}
