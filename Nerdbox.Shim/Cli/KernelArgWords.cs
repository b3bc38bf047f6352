using System.CommandLine;
using System.CommandLine.Parsing;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// Extra guest kernel command-line words from <c>--kernel-arg</c>: one word each, and none of the
/// words the shim writes itself, since a second <c>console=</c> or <c>nerdbox.channel=</c> would
/// quietly break the boot or the agent's channel instead of failing.
/// </summary>
internal static class KernelArgWords
{
    /// <summary>Every key of the agent's contract (<c>Nerdbox.Api.Contract.AgentKernelArgs</c>) starts with this.</summary>
    public const string AgentPrefix = "nerdbox.";

    /// <summary>Set by every backend: the console and the guest's init.</summary>
    public static readonly string[] BackendOwned = ["rdinit=", "console="];

    /// <summary>A repeatable option whose bad words are parse errors that name them (exit 2).</summary>
    public static Option<string[]> Option(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "ARG",
        Arity = ArgumentArity.OneOrMore,
        // One word per occurrence, so that a following bundle path is never taken for a kernel word.
        AllowMultipleArgumentsPerToken = false,
        DefaultValueFactory = _ => [],
        CustomParser = r => Parse(r),
    };

    /// <summary>Why <paramref name="word"/> cannot go on the command line, or null when it can.</summary>
    public static string? Problem(string word)
    {
        if (word.Length == 0) return "is empty";
        if (word.Any(char.IsWhiteSpace)) return "has whitespace: give each kernel word its own --kernel-arg";
        // The kernel reads a quote as the start of a value with spaces, which would join words.
        if (word.Contains('"')) return "has a double quote";
        // Words after "--" go to init, not the kernel: the shim puts the agent's arguments there.
        if (word == "--") return "is the separator before init's arguments, which the shim owns";
        if (BackendOwned.FirstOrDefault(k => word.StartsWith(k, StringComparison.Ordinal)) is { } key)
            return $"sets {key}, which the shim owns";
        if (word.StartsWith(AgentPrefix, StringComparison.Ordinal))
            return $"is a {AgentPrefix}* setting, which the shim owns";
        return null;
    }

    private static string[] Parse(ArgumentResult r)
    {
        var words = r.Tokens.Select(t => t.Value).ToArray();
        var name = r.Parent is OptionResult o ? o.Option.Name : r.Argument.Name;
        foreach (var word in words)
            if (Problem(word) is { } problem)
                r.AddError($"{name} '{word}' {problem}");
        return words;
    }
}
