using Nerdbox.Http2;
using Nerdbox.Http2.Frames;
using static Nerdbox.Fuzz.Harnesses.BrokenPromiseException;

namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// What a host sends on the agent's host channel, after the client preface, served by
/// <see cref="Http2Connection.ServeAsync"/> with small bounds and a handler that answers as a unary gRPC call
/// does (the body read, then headers, one short message and trailers). Whatever the input, the connection must end on
/// its own within two seconds, ServeAsync must not throw (a peer's fault ends the connection with a
/// GOAWAY, not an exception), and what it writes back must be whole frames, the first its SETTINGS, and bounded: a
/// fixed allowance plus a small multiple of the input.
/// </summary>
internal sealed class Http2ConnectionHarness : IFuzzHarness
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    // Bounds far below the agent's, so that inputs of a fuzzer's size reach what lies past them: a body over the limit,
    // a stream over the limit, and the WINDOW_UPDATEs sent once half a window is used (the protocol's own 65,535 bytes).
    private static readonly Http2ServerOptions Options = new()
    {
        MaxRequestBodyBytes = 4096,
        MaxConcurrentStreams = 4,
        ReceiveWindow = 65_535,
    };

    // The server's own frames (settings, window), and then no answer to any frame may cost more than this per input byte.
    private const int FixedOutput = 1 << 20;
    private const int OutputPerInputByte = 16;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    // A gRPC message of two bytes, and the trailers of a call that succeeded.
    private static readonly byte[] Message = [0, 0, 0, 0, 2, 0x08, 0x01];
    private static readonly KeyValuePair<string, string>[] ResponseHeaders = [new("content-type", "application/grpc")];
    private static readonly KeyValuePair<string, string>[] Trailers = [new("grpc-status", "0")];

    public string Name => "http2-connection";
    public string Input => "bytes a host sends on the agent's host channel after the HTTP/2 preface";

    public void Run(byte[] input)
    {
        var limit = FixedOutput + (long)OutputPerInputByte * input.Length;
        var handlers = new Answerer();
        using var transport = new ScriptedTransport([.. Preface, .. input], limit, handlers.InputReadAsync);

        var serving = Http2Connection.ServeAsync(transport, handlers.Answer, Options, log: null, CancellationToken.None);

        var ended = Task.WhenAny(serving, Task.Delay(Deadline)).GetAwaiter().GetResult() == serving;
        Require(ended, () => $"ServeAsync did not end within {Deadline.TotalSeconds} s of its input's end");
        // Any exception out of ServeAsync is a finding as it is.
        serving.GetAwaiter().GetResult();
        // The connection's end aborted every stream: the handlers end too, those still waiting for the input's end included.
        handlers.ConnectionEnded();
        Require(Task.WaitAll(handlers.Started(), Deadline), () => "a handler still waits after the connection ended");
        Require(handlers.Unexpected() is null, () => $"a handler saw {handlers.Unexpected()!.GetType().Name}: {handlers.Unexpected()!.Message}");

        Require(!transport.OverLimit, () => $"the server wrote more than {limit} bytes for {input.Length} bytes of input");
        CheckFrames(transport.Written());
    }

    /// <summary>The output is a run of whole frames (none written in part), the server's SETTINGS first.</summary>
    private static void CheckFrames(byte[] output)
    {
        var offset = 0;
        var first = true;
        while (offset < output.Length)
        {
            Require(output.Length - offset >= FrameHeader.Size, () => $"{output.Length - offset} bytes at the end of the output, less than a frame header");
            var header = FrameHeader.Read(output.AsSpan(offset));
            Require(header.Length <= Http2Constants.DefaultMaxFrameSize, () => $"a {header.Type} frame of {header.Length} bytes written");
            Require(output.Length - offset - FrameHeader.Size >= header.Length, () => $"a {header.Type} frame of {header.Length} bytes cut short at the output's end");
            Require(!first || header is { Type: FrameType.Settings, StreamId: 0 }, () => $"the server's first frame is {header.Type}, not SETTINGS");
            first = false;
            offset += FrameHeader.Size + header.Length;
        }
        Require(!first, () => "the server wrote nothing, not even its SETTINGS");
    }

    /// <summary>
    /// The handler. It answers as a unary call does, but only once the whole input has been read: then the handlers run
    /// one after another on the thread that read it, not beside the frames still being read, so that one input takes
    /// one path through the server (a fuzzer's coverage is only worth what it repeats).
    /// </summary>
    private sealed class Answerer
    {
        // Handlers are started on the thread pool; past this they are left to find their streams aborted.
        private static readonly TimeSpan ArrivalsAtMost = TimeSpan.FromMilliseconds(100);

        // Completed without asynchronous continuations, so that the handlers waiting for it run on the thread completing it.
        private readonly TaskCompletionSource _inputRead = new();
        private readonly List<Task> _started = [];
        private Exception? _unexpected;
        private int _arrived;

        public Task Answer(Http2Stream stream)
        {
            var answering = AnswerAsync(stream);
            lock (_started) _started.Add(answering);
            return answering;
        }

        public Task[] Started()
        {
            lock (_started) return [.. _started];
        }

        /// <summary>An exception a handler saw that the stream's contract does not name.</summary>
        public Exception? Unexpected() => Volatile.Read(ref _unexpected);

        /// <summary>
        /// Called at the input's end: once the handlers started have arrived (none queued, no new one over the last
        /// wait), lets them answer, each until it has answered or waits on what only more input could give.
        /// </summary>
        public async Task InputReadAsync()
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            var seen = -1;
            while (waited.Elapsed < ArrivalsAtMost)
            {
                await Task.Delay(1);
                var arrived = Volatile.Read(ref _arrived);
                if (ThreadPool.PendingWorkItemCount == 0 && arrived == seen) break;
                seen = arrived;
            }
            _inputRead.TrySetResult();
        }

        /// <summary>Lets the handlers that still wait for the input's end go on, when the connection ended before it.</summary>
        public void ConnectionEnded() => _inputRead.TrySetResult();

        private async Task AnswerAsync(Http2Stream stream)
        {
            Interlocked.Increment(ref _arrived);
            try
            {
                await _inputRead.Task;
                var body = await stream.ReadBodyAsync(stream.Aborted);
                if (body.TooLarge)
                {
                    await stream.SendTrailersAsync(200, ResponseHeaders, [new("grpc-status", "8")], stream.Aborted);
                    return;
                }
                await stream.SendHeadersAsync(200, ResponseHeaders, stream.Aborted, flush: false);
                await stream.SendDataAsync(Message, stream.Aborted, flush: false);
                await stream.SendTrailersAsync(200, [], Trailers, stream.Aborted);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // The stream was reset, or the connection ended under it: the peer's doing.
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _unexpected, e, null);
            }
        }
    }

    /// <summary>
    /// A duplex byte stream in memory: reads give the input, then, once <paramref name="beforeEnd"/> has completed, its
    /// end; writes are kept up to a bound, past which they fail as a broken connection would. After disposal, reads end
    /// and writes fail.
    /// </summary>
    private sealed class ScriptedTransport(byte[] input, long limit, Func<Task> beforeEnd) : Stream
    {
        private readonly MemoryStream _written = new();
        private int _read;
        private bool _endSeen;
        private volatile bool _disposed;

        public bool OverLimit { get; private set; }

        public byte[] Written()
        {
            lock (_written) return _written.ToArray();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, input.Length - _read);
            if (_disposed || n <= 0) return 0;
            input.AsSpan(_read, n).CopyTo(buffer);
            _read += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_read == input.Length && !_endSeen)
            {
                _endSeen = true;
                await beforeEnd();
            }
            return Read(buffer.Span);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_written)
            {
                if (_disposed) throw new IOException("the transport is closed");
                if (_written.Length + buffer.Length > limit)
                {
                    OverLimit = true;
                    throw new IOException("the output is over its bound");
                }
                _written.Write(buffer);
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override void Flush() { }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        protected override void Dispose(bool disposing)
        {
            lock (_written) _disposed = true;
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
