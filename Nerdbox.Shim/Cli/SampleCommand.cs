using System.CommandLine;
using Nerdbox.Engine.Bundles;

namespace Nerdbox.Shim.Cli;

/// <summary><c>sample DIR [-- CMD ...]</c>: writes a busybox OCI bundle.</summary>
public static class SampleCommand
{
    private static readonly string[] DefaultCommand = ["sh", "-c", "echo hello from a nerdbox container; uname -r"];

    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "where to write the bundle" };
        var cmd = new Argument<string[]>("CMD")
        {
            Description = "the container's command, after -- (default: print a greeting and the kernel release)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("sample", "Make a busybox OCI bundle.") { dir, cmd };
        command.SetAction(async (r, ct) =>
        {
            var path = r.GetRequiredValue(dir);
            await SampleBundle.CreateAsync(path, r.GetValue(cmd) is { Length: > 0 } given ? given : DefaultCommand, ct);
            Console.Error.WriteLine($"nerdbox: bundle written to {path}");
            return 0;
        });
        return command;
    }
}
