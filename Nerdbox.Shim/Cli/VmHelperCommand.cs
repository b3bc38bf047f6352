using System.CommandLine;
using Nerdbox.Engine.Vm.Libkrun;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// The hidden <c>vm-helper</c> verb: one libkrun VM, started by the shim itself (see <see cref="HelperProtocol"/>).
/// Its arguments are the helper's own, passed on untouched.
/// </summary>
public static class VmHelperCommand
{
    public static Command Create()
    {
        var command = new Command(HelperProtocol.Verb, "the helper process of one libkrun VM")
        {
            Hidden = true,
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(r => VmHelper.Run([.. r.UnmatchedTokens]));
        return command;
    }
}
