using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Nerdbox.GuestAgent.Channels;

/// <summary>A virtio-serial port (<c>/dev/vportNpM</c>) as a Kestrel endpoint.</summary>
internal sealed class VirtioSerialEndPoint(string devicePath) : EndPoint
{
    public string DevicePath { get; } = devicePath;
    public override string ToString() => "virtio-serial:" + DevicePath;
}

/// <summary>
/// A virtio-serial port is one pre-connected stream, not a listening socket: the listener yields
/// it as a single connection, and once that ends (the host went away) opens the port again for the
/// next host connection.
/// </summary>
internal sealed class VirtioSerialListener(VirtioSerialEndPoint endPoint) : IConnectionListener
{
    private readonly CancellationTokenSource _unbound = new();
    private StreamConnection? _current;

    public EndPoint EndPoint => endPoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
        try
        {
            if (_current is not null)
            {
                await _current.Disposed.WaitAsync(linked.Token);
                // The port reads as closed while no host is attached; do not spin on it.
                await Task.Delay(100, linked.Token);
            }
            // Unbuffered: a buffered stream over the port deadlocks HTTP/2's interleaved reads and writes.
            var stream = new FileStream(endPoint.DevicePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            _current = new StreamConnection(stream, endPoint);
            return _current;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound.Cancel();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _unbound.Cancel();
        if (_current is not null) await _current.DisposeAsync();
    }
}
