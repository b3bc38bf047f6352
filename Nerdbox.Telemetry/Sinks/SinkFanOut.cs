namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// The fan-out that <see cref="SpanSinkSet"/> and <see cref="LogSinkSet"/> share: every sink gets each call, at
/// once where the call waits, and one sink's trouble (full, down, throwing) never reaches the others or the caller.
/// </summary>
internal static class SinkFanOut
{
    public static void Submit<TSink, TBatch>(TSink[] sinks, TBatch batch, Action<TSink, TBatch> submit)
    {
        foreach (var sink in sinks)
        {
            try
            {
                submit(sink, batch);
            }
            catch (Exception)
            {
                // The contract says sinks never throw; one that does still must not stop the rest.
            }
        }
    }

    /// <summary>
    /// Waits for room in every sink at once, each as it bounds its own wait, so the wait is the longest of them,
    /// never their sum; a sink that fails to wait just gets the batch now.
    /// </summary>
    public static async ValueTask WaitForRoomAsync<TSink>(TSink[] sinks, Func<TSink, ValueTask> wait, CancellationToken cancellationToken)
    {
        List<Task>? pending = null;
        foreach (var sink in sinks)
        {
            var one = Guarded(sink, wait, cancellationToken);
            if (!one.IsCompletedSuccessfully) (pending ??= []).Add(one.AsTask());
        }
        if (pending is not null) await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private static async ValueTask Guarded<TSink>(TSink sink, Func<TSink, ValueTask> wait, CancellationToken cancellationToken)
    {
        try
        {
            await wait(sink).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Waiting is an optimisation.
        }
    }

    /// <summary>Flushes every sink at once; best effort, per sink.</summary>
    public static Task FlushAsync<TSink>(TSink[] sinks, Func<TSink, Task> flush) => Task.WhenAll(sinks.Select(async s =>
    {
        try
        {
            await flush(s).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort, per sink.
        }
    }));

    public static async ValueTask DisposeAsync<TSink>(TSink[] sinks)
    {
        foreach (var sink in sinks)
        {
            if (sink is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            else if (sink is IDisposable disposable) disposable.Dispose();
        }
    }

    /// <summary>The first sink's last error, prefixed with its name; null when none has one.</summary>
    public static string? FirstError<TSink>(TSink[] sinks, Func<TSink, string> name, Func<TSink, string?> error) =>
        sinks.Select(s => error(s) is { } e ? $"{name(s)}: {e}" : null).FirstOrDefault(e => e is not null);
}
