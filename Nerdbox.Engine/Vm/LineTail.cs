namespace Nerdbox.Engine.Vm;

/// <summary>The last N lines of a process's output, kept for error reports.</summary>
internal sealed class LineTail(int capacity)
{
    private readonly Queue<string> _lines = new();

    public void Add(string line)
    {
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity) _lines.Dequeue();
        }
    }

    public IReadOnlyList<string> Snapshot()
    {
        lock (_lines) return _lines.ToArray();
    }
}
