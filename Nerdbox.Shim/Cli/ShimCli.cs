using System.CommandLine;
using System.CommandLine.Help;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// The shim's command line: its verbs, and one place that parses, reports bad usage (exit 2, before
/// any verb runs) and runs the verb asked for. With no verb it serves.
/// </summary>
public static class ShimCli
{
    public const string Name = "nerdbox-shim";

    public static Command Create()
    {
        var root = new Command(Name, "Nerdbox boots a microVM per container and shows where start-up time goes. Without a command it serves.")
        {
            new HelpOption(),
            new VersionOption(),
            ServeCommand.Create(),
            RunCommand.Create(),
            ImageCommand.Create(),
            SampleCommand.Create(),
            TraceCommand.Create(),
            BenchCommand.Create(),
            VmHelperCommand.Create(),
        };
        root.SetAction((_, _) => ServeCommand.RunAsync([]));
        return root;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        // No @file expansion: a bundle path or a container's argument may start with '@'.
        var result = Create().Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Errors.Count > 0) return UsageErrors.Report(result, stderr);
        return await result.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            // Errors reach the caller's handling; Ctrl+C is the caller's token, and serve handles SIGTERM itself.
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        }, ct);
    }
}
