using System.CommandLine;
using System.CommandLine.Parsing;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// Bad usage on stderr: each problem, a guess for a mistyped option, and the usage lines of the
/// verb that was meant (or of its sub-verbs when it needs one). Exit code 2.
/// </summary>
internal static class UsageErrors
{
    public const int ExitCode = 2;

    public static int Report(ParseResult result, TextWriter stderr)
    {
        foreach (var error in result.Errors) stderr.WriteLine("nerdbox: " + Message(error));
        var command = result.CommandResult.Command;
        foreach (var token in result.UnmatchedTokens.Where(t => t.StartsWith('-')).Distinct())
            if (Nearest(token, command.Options.SelectMany(o => o.Aliases.Prepend(o.Name))) is { } guess)
                stderr.WriteLine($"nerdbox: did you mean {guess}?");

        var path = Path(result.CommandResult);
        var root = result.RootCommandResult.Command;
        var usages = command.Action is null && command.Subcommands.Any(c => !c.Hidden)
            ? command.Subcommands.Where(c => !c.Hidden).Select(c => Usage(root, [.. path, c.Name]))
            : [Usage(root, path)];
        var prefix = "usage: ";
        foreach (var usage in usages)
        {
            stderr.WriteLine(prefix + usage);
            prefix = new string(' ', prefix.Length);
        }
        stderr.WriteLine($"(see {string.Join(' ', [root.Name, .. path, "--help"])})");
        return ExitCode;
    }

    /// <summary>The parser's message, but a missing argument is named: the parser names only its command.</summary>
    private static string Message(ParseError error) =>
        error.SymbolResult is ArgumentResult { Argument: var a, Parent: CommandResult c } r && r.Tokens.Count < a.Arity.MinimumNumberOfValues
            ? $"{c.Command.Name} wants {a.Name}: {a.Description}"
            : error.Message;

    /// <summary>The verb names from the root down to <paramref name="command"/>.</summary>
    private static List<string> Path(CommandResult command)
    {
        var path = new List<string>();
        for (var c = command; c.Parent is CommandResult parent; c = parent) path.Insert(0, c.Command.Name);
        return path;
    }

    /// <summary>The usage line of the help, so that it cannot differ from what --help prints.</summary>
    private static string Usage(Command root, IReadOnlyList<string> path)
    {
        var help = new StringWriter();
        root.Parse([.. path, "--help"]).Invoke(new InvocationConfiguration { Output = help });
        var lines = help.ToString().Split('\n').Select(l => l.Trim()).ToList();
        var at = lines.IndexOf("Usage:");
        return at >= 0 && at + 1 < lines.Count ? lines[at + 1] : string.Join(' ', [root.Name, .. path]);
    }

    /// <summary>The option closest to <paramref name="token"/>, when one is close enough to be a typo of it.</summary>
    private static string? Nearest(string token, IEnumerable<string> names)
    {
        var name = token.Split('=')[0];
        return names.Where(n => n.StartsWith("--"))
            .Select(n => (Name: n, Distance: Distance(name, n)))
            .Where(c => c.Distance <= Math.Max(1, c.Name.Length / 4))
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
