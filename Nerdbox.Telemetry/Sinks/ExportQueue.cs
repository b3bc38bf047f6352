namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// A queued sink's bounded queue: batches (of spans, or of log records) wait here for the sender, which
/// takes them in groups that make one export request. It tells whether a batch fits now, signals when room
/// is freed (a request was taken) and when everything handed in has been exported or dropped (for flushing).
/// The bounds count items (spans or log records); <see cref="SinkOptions"/> names them in spans.
/// </summary>
internal sealed class ExportQueue<TBatch>(SinkOptions options)
{
    private readonly object _lock = new();
    private readonly Queue<(TBatch Batch, int Spans)> _queue = new();
    private int _queuedSpans;
    private int _pendingBatches; // queued or being exported: what WhenDrained waits for
    private TaskCompletionSource? _drained;
    private TaskCompletionSource _roomChanged = NewSignal();
    private bool _closed;

    /// <summary>Whether a batch of <paramref name="spans"/> would be taken now.</summary>
    public bool HasRoom(int spans)
    {
        lock (_lock) return HasRoomLocked(spans);
    }

    /// <summary>Whether waiting could ever make room: the queue is open and the batch is not larger than the whole queue.</summary>
    public bool CouldFit(int spans)
    {
        lock (_lock) return !_closed && spans <= options.MaxQueuedSpans;
    }

    /// <summary>Completes at the next change that may free room: a request taken, the queue closed, or <see cref="Nudge"/>.</summary>
    public Task RoomChanged
    {
        get { lock (_lock) return _roomChanged.Task; }
    }

    /// <summary>Queues the batch; false (nothing queued) when it does not fit or the queue is closed.</summary>
    public bool TryAdd(TBatch batch, int spans)
    {
        lock (_lock)
        {
            if (_closed || !HasRoomLocked(spans)) return false;
            _queue.Enqueue((batch, spans));
            _queuedSpans += spans;
            _pendingBatches++;
            return true;
        }
    }

    /// <summary>Takes the next batches, up to the export size, for one request; null when empty.</summary>
    public (List<TBatch> Batches, int Spans)? TakeRequest()
    {
        TaskCompletionSource roomChanged;
        (List<TBatch>, int) taken;
        lock (_lock)
        {
            if (_queue.Count == 0) return null;
            var batches = new List<TBatch>();
            var spans = 0;
            while (_queue.TryPeek(out var next) && (spans == 0 || spans + next.Spans <= options.MaxSpansPerExport))
            {
                _queue.Dequeue();
                batches.Add(next.Batch);
                spans += next.Spans;
            }
            _queuedSpans -= spans;
            taken = (batches, spans);
            roomChanged = SwapSignalLocked();
        }
        roomChanged.TrySetResult();
        return taken;
    }

    /// <summary>Marks batches taken earlier as exported (or dropped).</summary>
    public void Done(int batches)
    {
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            _pendingBatches -= batches;
            if (_pendingBatches <= 0)
            {
                drained = _drained;
                _drained = null;
            }
        }
        drained?.TrySetResult();
    }

    /// <summary>Completes once every batch handed in so far has been exported or dropped.</summary>
    public Task WhenDrained()
    {
        lock (_lock)
        {
            if (_pendingBatches <= 0) return Task.CompletedTask;
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    /// <summary>Wakes whoever waits for room, so that they look again (the destination's state changed).</summary>
    public void Nudge()
    {
        TaskCompletionSource roomChanged;
        lock (_lock) roomChanged = SwapSignalLocked();
        roomChanged.TrySetResult();
    }

    /// <summary>Refuses further batches and empties the queue; returns the spans it held, which were not sent.</summary>
    public int Close()
    {
        int dropped;
        TaskCompletionSource roomChanged;
        lock (_lock)
        {
            if (_closed) return 0;
            _closed = true;
            dropped = _queuedSpans;
            _pendingBatches -= _queue.Count;
            _queue.Clear();
            _queuedSpans = 0;
            roomChanged = SwapSignalLocked();
        }
        roomChanged.TrySetResult();
        return dropped;
    }

    /// <summary>After the sender stopped: nothing is pending any more, whatever it was doing.</summary>
    public void Abandon()
    {
        TaskCompletionSource? drained;
        lock (_lock)
        {
            _pendingBatches = 0;
            drained = _drained;
            _drained = null;
        }
        drained?.TrySetResult();
    }

    private bool HasRoomLocked(int spans) =>
        _queue.Count < options.MaxQueuedBatches && _queuedSpans + spans <= options.MaxQueuedSpans;

    private TaskCompletionSource SwapSignalLocked()
    {
        var old = _roomChanged;
        _roomChanged = NewSignal();
        return old;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
