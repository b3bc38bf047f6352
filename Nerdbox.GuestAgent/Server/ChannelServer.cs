using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Nerdbox.GuestAgent.Channels;
using Nerdbox.GuestAgent.Server.Grpc;
using Nerdbox.Http2;

namespace Nerdbox.GuestAgent.Server;

/// <summary>
/// The host channel's server: each connection the channel's listener accepts is served as HTTP/2 by
/// <see cref="Http2Connection"/>, its streams by the gRPC method table. No Kestrel on this path: under emulation
/// its first connection cost the boot a large share of the agent's start.
/// </summary>
internal sealed class ChannelServer(IChannelListener listener, GrpcMethodTable methods, Action<string>? log)
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Stream, Task> _connections = new();
    private Task _accepting = Task.CompletedTask;

    /// <summary>Binds the channel's listener; a vsock port that cannot be bound fails here, with the reason.</summary>
    public static ChannelServer Bind(EndPoint channel, GrpcMethodTable methods, Action<string>? log) => new(channel switch
    {
        VirtioSerialEndPoint v => new VirtioSerialListener(v),
        VsockEndPoint v => VsockListener.Bind(v),
        UnixDomainSocketEndPoint u => UnixSocketListener.Bind(u),
        _ => throw new NotSupportedException($"no listener for {channel}"),
    }, methods, log);

    public void Start() => _accepting = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        var options = new Http2ServerOptions { MaxRequestBodyBytes = methods.MaxRequestBodyBytes };
        while (!_stopping.IsCancellationRequested)
        {
            Stream? stream;
            try
            {
                stream = await listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                log?.Invoke($"host channel: accept failed: {e.Message}");
                await Task.Delay(100);
                continue;
            }
            if (stream is null) return;
            var serving = Http2Connection.ServeAsync(stream, methods.ServeAsync, options, log, _stopping.Token);
            _connections[stream] = serving;
            _ = serving.ContinueWith(_ => _connections.TryRemove(stream, out var _), TaskScheduler.Default);
            if (listener.OneConnectionAtATime) await serving;
        }
    }

    /// <summary>Stops accepting, tells each connection to go away, and gives calls in flight <paramref name="grace"/> to finish.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _stopping.Cancel();
        await listener.DisposeAsync();
        try
        {
            await Task.WhenAll([_accepting, .. _connections.Values]).WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            foreach (var stream in _connections.Keys) stream.Dispose();
        }
    }
}
