namespace Nerdbox.GuestAgent.Channels;

/// <summary>Where the host's connections to the agent come from: each accepted connection is a byte stream.</summary>
internal interface IChannelListener : IAsyncDisposable
{
    /// <summary>The next connection, or null once the listener is disposed or <paramref name="cancellationToken"/> fires.</summary>
    Task<Stream?> AcceptAsync(CancellationToken cancellationToken);

    /// <summary>True when a connection must have ended before the next is accepted (a virtio-serial port is one stream).</summary>
    bool OneConnectionAtATime { get; }
}
