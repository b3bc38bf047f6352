using System.CommandLine;
using Nerdbox.Engine.Bundles;

namespace Nerdbox.Shim.Cli;

/// <summary><c>sample DIR [--app] [-- CMD ...]</c>: writes a busybox OCI bundle, or the app sample that traces its start-up.</summary>
public static class SampleCommand
{
    private static readonly string[] DefaultCommand = ["sh", "-c", "echo hello from a nerdbox container; uname -r"];
    private const string AppGreeting = "hello from a nerdbox sample app";

    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "where to write the bundle" };
        var cmd = new Argument<string[]>("CMD")
        {
            Description = "the container's command, after -- (default: print a greeting and the kernel release)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var app = new Option<bool>("--app")
        {
            Description = $"the app sample: a script that posts its start-up spans ({string.Join(", ", SampleBundle.AppSpans)}) as OTLP/JSON to the endpoint the container is given (see docs/workload-telemetry.md)",
        };
        var command = new Command("sample", "Make a busybox OCI bundle.") { dir, cmd, app };
        command.Validators.Add(r =>
        {
            if (r.GetValue(app) && r.GetValue(cmd) is { Length: > 0 }) r.AddError("sample --app runs its own script: give no CMD with it");
        });
        command.SetAction(async (r, ct) =>
        {
            var path = r.GetRequiredValue(dir);
            if (r.GetValue(app)) await SampleBundle.CreateAppAsync(path, AppGreeting, ct);
            else await SampleBundle.CreateAsync(path, r.GetValue(cmd) is { Length: > 0 } given ? given : DefaultCommand, ct);
            Console.Error.WriteLine($"nerdbox: bundle written to {path}");
            return 0;
        });
        return command;
    }
}
