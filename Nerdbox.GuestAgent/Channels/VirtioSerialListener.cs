using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Channels;

/// <summary>A virtio-serial port (<c>/dev/vportNpM</c>) as the agent's endpoint.</summary>
internal sealed class VirtioSerialEndPoint(string devicePath) : EndPoint
{
    public string DevicePath { get; } = devicePath;
    public override string ToString() => "virtio-serial:" + DevicePath;
}

/// <summary>
/// A virtio-serial port is one pre-connected stream, not a listening socket: the listener yields
/// it as a single connection once a host is attached; once that connection has ended (the host went
/// away), the next accept opens the port again for the next host connection.
/// </summary>
internal sealed class VirtioSerialListener(VirtioSerialEndPoint endPoint) : IChannelListener
{
    private readonly CancellationTokenSource _unbound = new();

    public bool OneConnectionAtATime => true;

    public async Task<Stream?> AcceptAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbound.Token);
        try
        {
            // Unbuffered: a buffered stream over the port deadlocks HTTP/2's interleaved reads and writes.
            var stream = new FileStream(endPoint.DevicePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            try
            {
                await WaitForHostAsync(stream.SafeFileHandle, linked.Token);
            }
            catch
            {
                await stream.DisposeAsync();
                throw;
            }
            return stream;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// A port reads as closed (end of stream) while the guest believes no host is attached. That
    /// belief can lag the host: the port's "host attached" message may be handled after the agent
    /// opened the port, or after the host's first bytes. A connection served then would end at once,
    /// and its GOAWAY would reach the host that has just attached, which must then reconnect (and
    /// its reconnect reads to the guest as a detach). So a connection starts only once poll(2) no
    /// longer reports a hang-up: the guest knows the host is there.
    /// </summary>
    private static async Task WaitForHostAsync(SafeFileHandle port, CancellationToken ct)
    {
        while (!HostAttached(port)) await Task.Delay(10, ct);
    }

    private static unsafe bool HostAttached(SafeFileHandle port)
    {
        var added = false;
        port.DangerousAddRef(ref added);
        try
        {
            var fd = new Libc.PollFd { Fd = (int)port.DangerousGetHandle(), Events = Libc.POLLOUT };
            var ready = Libc.Poll(&fd, 1, 0);
            if (ready < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR) return false;
            if (ready < 0) throw new IOException($"poll on {port} failed: {Libc.LastErrorText()}");
            return (fd.Revents & Libc.POLLHUP) == 0;
        }
        finally
        {
            if (added) port.DangerousRelease();
        }
    }

    public ValueTask DisposeAsync()
    {
        _unbound.Cancel();
        return ValueTask.CompletedTask;
    }
}
