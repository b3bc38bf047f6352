using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Nerdbox.GuestAgent.Channels;

/// <summary>A Kestrel connection over any byte stream (a virtio-serial port, an accepted vsock socket).</summary>
internal sealed class StreamConnection : ConnectionContext
{
    private static long _nextId;
    private readonly Stream _stream;
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamConnection(Stream stream, EndPoint local)
    {
        _stream = stream;
        LocalEndPoint = local;
        RemoteEndPoint = local;
        ConnectionId = $"{local}#{Interlocked.Increment(ref _nextId)}";
        Transport = new DuplexPipe(
            PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true)),
            PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true)));
    }

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features { get; } = new FeatureCollection();
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override IDuplexPipe Transport { get; set; }
    public override CancellationToken ConnectionClosed { get => _closed.Token; set { } }

    /// <summary>Completes once Kestrel is done with the connection.</summary>
    public Task Disposed => _disposed.Task;

    public override void Abort(ConnectionAbortedException abortReason)
    {
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        try { _stream.Dispose(); } catch (Exception) { /* the device may be gone already */ }
    }

    public override ValueTask DisposeAsync()
    {
        // Never throw from here: a failed final flush on a dead channel must not stall shutdown.
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        try { _stream.Dispose(); } catch (Exception) { }
        _disposed.TrySetResult();
        return ValueTask.CompletedTask;
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
