using System.CommandLine;
using Nerdbox.Engine.GuestImage;

namespace Nerdbox.Shim.Cli;

/// <summary><c>image build</c>: builds or refreshes the guest image ahead of time (run builds it when needed).</summary>
public static class ImageCommand
{
    public static Command Create()
    {
        var kernel = CliOptions.OneOf("--kernel",
            "also build this guest kernel now: minimal builds the one made for this VM from Debian's kernel source (minutes, once); " +
            "VMs boot it with run --kernel minimal", GuestKernel.All, GuestKernel.Debian);
        var build = new Command("build", "Build the guest image now, or refresh it when an input changed. NERDBOX_IMAGE_DIR moves it.") { kernel };
        build.SetAction(async (r, ct) =>
        {
            void Progress(string line) => Console.Error.WriteLine("nerdbox: " + line);
            await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, Progress).EnsureAsync(ct);
            if (r.GetRequiredValue(kernel) == GuestKernel.Minimal)
                Console.WriteLine(await new MinimalKernel(GuestImageBuilder.DefaultCacheDirectory, Progress).EnsureAsync(ct));
            return 0;
        });
        return new Command("image", "The guest image: kernel, initramfs with the agent, busybox and crun.") { build };
    }
}
