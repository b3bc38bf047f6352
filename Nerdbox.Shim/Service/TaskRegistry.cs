using System.Collections.Concurrent;
using Nerdbox.Engine.Tasks;

namespace Nerdbox.Shim.Service;

/// <summary>The shim's live tasks by id. Disposing it stops every VM still running.</summary>
public sealed class TaskRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, VmTask> _tasks = new();
    private readonly ConcurrentDictionary<string, byte> _creating = new();

    /// <summary>Claims an id for a task being created, so that two creates of one id cannot race.</summary>
    public bool TryReserve(string id) => !_tasks.ContainsKey(id) && _creating.TryAdd(id, 0);

    public void Release(string id) => _creating.TryRemove(id, out _);

    public void Add(VmTask task)
    {
        _tasks[task.Id] = task;
        _creating.TryRemove(task.Id, out _);
    }

    public bool TryGet(string id, out VmTask task) => _tasks.TryGetValue(id, out task!);

    public bool Remove(string id) => _tasks.TryRemove(id, out _);

    public int Count => _tasks.Count;

    public async ValueTask DisposeAsync()
    {
        foreach (var task in _tasks.Values) await task.DisposeAsync();
        _tasks.Clear();
    }
}
