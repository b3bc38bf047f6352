using System.Text.RegularExpressions;
using Nerdbox.Engine.GuestImage;

namespace Nerdbox.Tests.Cli;

/// <summary>
/// The command table in README.md ("## Commands") says what <c>--help</c> says: a row for every
/// verb and no other, and in each row that verb's arguments and exactly its options.
/// </summary>
public sealed partial class ReadmeCommandsMatchHelp : IDisposable
{
    private readonly ShimExecutable _shim = new();

    public void Dispose() => _shim.Dispose();

    private sealed record Row(string Path, string Usage);

    [Fact]
    public async Task Every_verb_has_a_row_and_every_row_is_a_verb()
    {
        var verbs = await LeafVerbsAsync([]);
        var rows = ReadmeRows().Select(r => r.Path).ToList();

        Assert.Contains("run", verbs);
        Assert.True(verbs.Except(rows).ToList() is [], $"verbs in the help without a README row: {string.Join(", ", verbs.Except(rows))}");
        Assert.True(rows.Except(verbs).ToList() is [], $"README rows for no verb in the help: {string.Join(", ", rows.Except(verbs))}");
        Assert.Equal(rows.Count, rows.Distinct().Count());
    }

    [Fact]
    public async Task Each_row_has_its_verbs_arguments_and_options()
    {
        var rows = ReadmeRows();
        Assert.NotEmpty(rows);
        foreach (var row in rows)
        {
            var help = await HelpAsync(row.Path.Split(' '));
            var options = Section(help, "Options:").SelectMany(l => LongOption().Matches(l).Select(m => m.Value))
                .Where(o => o is not ("--help" or "--version")).Order().ToList();
            var inRow = LongOption().Matches(row.Usage).Select(m => m.Value).Order().ToList();
            Assert.True(options.SequenceEqual(inRow),
                $"README row '{row.Usage}' has options [{string.Join(", ", inRow)}]; 'nerdbox-shim {row.Path} --help' has [{string.Join(", ", options)}]");
            foreach (var argument in Section(help, "Arguments:").Select(l => ArgumentName().Match(l)).Where(m => m.Success))
                Assert.True(row.Usage.Contains(argument.Groups[1].Value),
                    $"README row '{row.Usage}' does not name the argument {argument.Groups[1].Value} of 'nerdbox-shim {row.Path}'");
        }
    }

    /// <summary>The verbs that take no further verb, found by following each help's command list.</summary>
    private async Task<List<string>> LeafVerbsAsync(string[] path)
    {
        var subverbs = Section(await HelpAsync(path), "Commands:").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]).ToList();
        if (subverbs.Count == 0) return [string.Join(' ', path)];
        var leaves = new List<string>();
        foreach (var verb in subverbs) leaves.AddRange(await LeafVerbsAsync([.. path, verb]));
        return leaves;
    }

    private async Task<string> HelpAsync(string[] path)
    {
        var r = await _shim.RunAsync([.. path, "--help"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    /// <summary>The first-column lines of a help section (continuation lines are indented further).</summary>
    private static IEnumerable<string> Section(string help, string title) =>
        help.Split('\n').SkipWhile(l => l.Trim() != title).Skip(1).TakeWhile(l => l.Trim().Length > 0)
            .Where(l => l.StartsWith("  ") && !l.StartsWith("   "))
            .Select(l => Regex.Split(l.Trim(), @"\s{2,}")[0]);

    private static List<Row> ReadmeRows()
    {
        var root = SourceTree.FindRoot() ?? throw new InvalidOperationException("no source tree");
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var start = readme.IndexOf("\n## Commands\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Commands' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];
        return section.Split('\n')
            .Select(l => TableRow().Match(l))
            .Where(m => m.Success)
            .Select(m => m.Groups[1].Value.Replace(@"\|", "|"))
            .Select(usage => new Row(string.Join(' ', usage.Split(' ').Skip(1).TakeWhile(w => VerbWord().IsMatch(w))), usage))
            .ToList();
    }

    [GeneratedRegex(@"^\| `(nerdbox-shim [^`]*)`")]
    private static partial Regex TableRow();

    [GeneratedRegex(@"^[a-z][a-z-]*$")]
    private static partial Regex VerbWord();

    [GeneratedRegex(@"--[a-z][a-z-]*")]
    private static partial Regex LongOption();

    [GeneratedRegex(@"<([^>]+)>")]
    private static partial Regex ArgumentName();
}
