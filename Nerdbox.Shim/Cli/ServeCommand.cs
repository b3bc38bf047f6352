using System.CommandLine;
using Nerdbox.Shim.Hosting;

namespace Nerdbox.Shim.Cli;

/// <summary><c>serve</c> (also what no verb runs): the shim as a service, see <see cref="ShimHost"/>.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve",
            "The shim as a service: the task API and /health (what no command runs). Further arguments are host settings, e.g. --urls URL.")
        {
            // Host settings go to the ASP.NET configuration as they did before there were verbs.
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((r, _) => RunAsync([.. r.UnmatchedTokens]));
        return command;
    }

    public static Task<int> RunAsync(string[] hostArgs) => ShimHost.RunAsync(hostArgs);
}
