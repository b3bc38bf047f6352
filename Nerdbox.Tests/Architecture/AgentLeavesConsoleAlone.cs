using System.Text.RegularExpressions;
using Nerdbox.Engine.GuestImage;

namespace Nerdbox.Tests.Architecture;

/// <summary>
/// The guest agent never uses <see cref="Console"/>: on the VM's console (a terminal) its first use makes the
/// runtime handle SIGCHLD, and a runtime that is PID 1 then reaps the agent's children itself, so that a finished
/// <c>crun</c> can be waited for forever (docs/reliability.md). That hang comes about one boot in two, not every
/// time, so the rule is checked in the agent's sources, where a new use would appear.
/// </summary>
public sealed partial class AgentLeavesConsoleAlone
{
    [GeneratedRegex(@"\bConsole\s*\.")]
    private static partial Regex ConsoleUse();

    [Fact]
    public void No_agent_source_file_uses_System_Console()
    {
        var root = SourceTree.FindRoot() ?? throw new InvalidOperationException("no source tree");
        var agent = Path.Combine(root, "Nerdbox.GuestAgent");
        var sources = Directory.EnumerateFiles(agent, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        Assert.Contains(sources, f => f.EndsWith("AgentLog.cs", StringComparison.Ordinal));

        var uses = sources
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(root, f), Line: i + 1, Text: line.Trim())))
            .Where(l => ConsoleUse().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text}")
            .ToList();
        Assert.True(uses is [], "the agent uses System.Console (write through Init/AgentLog instead):\n" + string.Join('\n', uses));
    }
}
