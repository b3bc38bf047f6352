namespace Nerdbox.Engine.Tasks;

/// <summary>A task's stdout and stderr as received from the guest: the newest bytes kept (bounded), and passed on to listeners.</summary>
public sealed class OutputCapture
{
    public const int MaxBytes = 64 * 1024;
    private readonly object _lock = new();
    private readonly List<byte> _stdout = new(), _stderr = new();

    public event Action<bool, ReadOnlyMemory<byte>>? Received;

    public ulong DroppedBytes { get; private set; }

    public void Add(bool isStderr, ReadOnlyMemory<byte> data, ulong droppedBefore)
    {
        lock (_lock)
        {
            DroppedBytes += droppedBefore;
            var target = isStderr ? _stderr : _stdout;
            target.AddRange(data.Span);
            if (target.Count > MaxBytes) target.RemoveRange(0, target.Count - MaxBytes);
        }
        Received?.Invoke(isStderr, data);
    }

    public byte[] Stdout() { lock (_lock) return _stdout.ToArray(); }
    public byte[] Stderr() { lock (_lock) return _stderr.ToArray(); }
}
