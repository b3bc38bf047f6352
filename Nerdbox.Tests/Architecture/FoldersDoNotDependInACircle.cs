using System.Reflection;

namespace Nerdbox.Tests.Architecture;

/// <summary>
/// The layout's promise: a folder (a project's top-level namespace below the project) may use
/// folders of its own project and of the projects it references, but no two folders use each other,
/// directly or round a longer loop; and each concept has one type of its name.
/// </summary>
public sealed class FoldersDoNotDependInACircle
{
    private static readonly string[] Projects = ["Nerdbox.Api", "Nerdbox.Http2", "Nerdbox.Telemetry", "Nerdbox.Engine", "Nerdbox.TraceViewer", "Nerdbox.Testing", "nerdbox-shim"];

    private static IEnumerable<Type> NerdboxTypes() => Projects
        .Select(name => Assembly.Load(name))
        .SelectMany(a => a.GetTypes())
        .Where(t => t.Namespace?.StartsWith("Nerdbox.", StringComparison.Ordinal) == true);

    /// <summary><c>Nerdbox.Engine.Vm.Qemu</c> is in folder <c>Nerdbox.Engine.Vm</c>; generated protocol types sit in <c>Nerdbox.Api.&lt;service&gt;</c>.</summary>
    private static string Folder(Type t) => string.Join('.', TypeDependencies.Owner(t).Namespace!.Split('.').Take(3));

    internal static Dictionary<string, HashSet<string>> FolderGraph()
    {
        var graph = new Dictionary<string, HashSet<string>>();
        foreach (var type in NerdboxTypes())
        {
            var from = Folder(type);
            var edges = graph.TryGetValue(from, out var e) ? e : graph[from] = [];
            foreach (var used in TypeDependencies.Of(type))
                if (used.Namespace?.StartsWith("Nerdbox.", StringComparison.Ordinal) == true && Folder(used) is var to && to != from)
                    edges.Add(to);
        }
        return graph;
    }

    [Fact]
    public void No_folder_depends_on_itself_through_others()
    {
        var graph = FolderGraph();
        Assert.Contains("Nerdbox.Engine.Tasks", graph.Keys);
        Assert.Contains("Nerdbox.Engine.Boot", graph["Nerdbox.Engine.Tasks"]);

        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).Select(c => string.Join(" <-> ", c.Order())).ToList();

        Assert.True(cycles.Count == 0, "folders that depend on each other:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void The_check_finds_a_cycle_when_there_is_one()
    {
        var graph = new Dictionary<string, HashSet<string>> { ["a"] = ["b"], ["b"] = ["c"], ["c"] = ["a"], ["d"] = ["a"] };

        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).ToList();

        Assert.Equal(["a", "b", "c"], Assert.Single(cycles).Order());
    }

    [Fact]
    public void Each_concept_has_one_type_of_its_name()
    {
        var clashes = NerdboxTypes()
            // Generated protocol types (Nerdbox.Api.*.V1) are named by their protos.
            .Where(t => !t.IsNested && !t.Name.StartsWith('<') && !t.Namespace!.EndsWith(".V1", StringComparison.Ordinal))
            .GroupBy(t => t.Name)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(t => t.FullName))}")
            .ToList();

        Assert.True(clashes.Count == 0, "one name, several types:\n" + string.Join("\n", clashes));
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, HashSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            result.Add(component);
        }
        foreach (var v in graph.Keys.ToList()) if (!index.ContainsKey(v)) Visit(v);
        return result;
    }
}
