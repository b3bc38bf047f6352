using Microsoft.Extensions.Logging;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// What a queued sink knows about its destination: whether it is down (its last attempt failed),
/// stalled (a wait for room in the queue ran out), or rejecting spans; and the log of it, one line
/// when a state starts and one when it ends. Waiting for room is only worth it while neither down nor stalled.
/// </summary>
internal sealed class DestinationHealth(string description, ILogger logger)
{
    private volatile bool _failing;
    private volatile bool _stalled;

    // Touched by the sender only.
    private bool _down;
    private long _droppedWhileDown;
    private bool _rejecting;

    /// <summary>Up and taking spans: a caller may wait (bounded) for room rather than have its batch dropped.</summary>
    public bool WorthWaitingFor => !_failing && !_stalled;

    /// <summary>One attempt failed (it may still be retried): until one succeeds, nobody waits for this destination.</summary>
    public void AttemptFailed() => _failing = true;

    public void Delivered(int spans, int rejected, string message)
    {
        _failing = false;
        if (_stalled)
        {
            _stalled = false;
            logger.LogInformation("OTLP destination {Destination} takes spans again", description);
        }
        if (_down)
        {
            _down = false;
            logger.LogInformation("OTLP destination {Destination} reachable again; {Dropped} spans were dropped while it was not",
                description, _droppedWhileDown);
            _droppedWhileDown = 0;
        }
        if (rejected > 0 && !_rejecting)
            logger.LogWarning("OTLP destination {Destination} rejected {Rejected} of {Spans} spans: {Message}; rejected spans are counted as dropped",
                description, rejected, spans, message);
        _rejecting = rejected > 0;
    }

    public void Failed(string reason, int spans)
    {
        _failing = true;
        _droppedWhileDown += spans;
        if (_down) return;
        _down = true;
        logger.LogWarning("OTLP destination {Destination} unreachable: {Reason}; spans will be counted as dropped until it recovers",
            description, reason);
    }

    /// <summary>A wait for room ran out: the destination answers too slowly, or not at all yet.</summary>
    public void RoomWaitRanOut(TimeSpan bound)
    {
        if (_stalled) return;
        _stalled = true;
        logger.LogWarning("OTLP destination {Destination} took no spans for {Seconds} s; spans that do not fit its queue are counted as dropped until it delivers again",
            description, bound.TotalSeconds);
    }
}
