using Task = System.Threading.Tasks.Task;
using TaskStatus = Nerdbox.Api.Task.V1.TaskStatus;
using Google.Protobuf;
using Nerdbox.Api.Task.V1;

namespace Nerdbox.GuestAgent.Tasks;

/// <summary>
/// A container's stdout and stderr, kept from its creation until the host reads them.
/// Bounded: past the limit the oldest unread bytes are dropped and the count goes with the next chunk.
/// </summary>
internal sealed class OutputBuffer
{
    public const int MaxBytes = 4 * 1024 * 1024;

    private readonly object _lock = new();
    private readonly Queue<OutputChunk> _chunks = new();
    private readonly SemaphoreSlim _signal = new(0);
    private long _bytes;
    private ulong _dropped;
    private int _openStreams = 2;
    private int _readerAttached;

    public void Append(OutputStream stream, ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            _chunks.Enqueue(new OutputChunk { Stream = stream, Data = ByteString.CopyFrom(data) });
            _bytes += data.Length;
            while (_bytes > MaxBytes && _chunks.Count > 1)
            {
                var old = _chunks.Dequeue();
                _bytes -= old.Data.Length;
                _dropped += (ulong)old.Data.Length;
            }
        }
        _signal.Release();
    }

    public void StreamClosed()
    {
        lock (_lock) _openStreams--;
        _signal.Release();
    }

    /// <summary>Copies the pipe into the buffer until the writers close it.</summary>
    public async Task PumpAsync(Stream pipe, OutputStream stream)
    {
        var buffer = new byte[16384];
        try
        {
            int n;
            while ((n = await pipe.ReadAsync(buffer)) > 0) Append(stream, buffer.AsSpan(0, n));
        }
        catch (IOException) { /* the pipe broke: treat as closed */ }
        finally
        {
            await pipe.DisposeAsync();
            StreamClosed();
        }
    }

    /// <summary>One reader at a time gets the chunks, in order, until both streams are closed and drained.</summary>
    public async IAsyncEnumerable<OutputChunk> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _readerAttached, 1) == 1)
            throw new InvalidOperationException("the task's output is already being read");
        try
        {
            while (true)
            {
                OutputChunk? next = null;
                bool done;
                lock (_lock)
                {
                    if (_chunks.Count > 0)
                    {
                        next = _chunks.Dequeue();
                        _bytes -= next.Data.Length;
                        next.DroppedBytes = _dropped;
                        _dropped = 0;
                    }
                    done = next is null && _openStreams == 0;
                }
                if (next is not null) yield return next;
                else if (done) yield break;
                else await _signal.WaitAsync(ct);
            }
        }
        finally
        {
            Interlocked.Exchange(ref _readerAttached, 0);
        }
    }
}
