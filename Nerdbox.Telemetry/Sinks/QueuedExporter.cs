using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OpenTelemetry;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// The part every sink with slow or remote I/O shares, for spans (<see cref="QueuedSpanSink"/>) and log
/// records (<see cref="QueuedLogSink"/>) alike: <see cref="Submit"/> only puts the batch on a
/// bounded <see cref="ExportQueue{TBatch}"/> (or drops and counts it), and one background sender merges queued
/// batches into export requests and sends them, each with a timeout. So a destination that is slow or
/// down costs the caller — a booting VM — nothing. A caller that can hold back its own producer (the
/// guest span relay) may first <see cref="WaitForRoomAsync"/>: that waits only while the destination is
/// up and taking spans, and at most <see cref="SinkOptions.MaxRoomWait"/> (<see cref="DestinationHealth"/>).
/// </summary>
/// <typeparam name="TBatch">What callers hand in (one resource's spans or log records).</typeparam>
/// <typeparam name="TRequest">The export request a group of batches becomes.</typeparam>
public abstract class QueuedExporter<TBatch, TRequest> : IAsyncDisposable, IDisposable where TBatch : class
{
    private readonly object _startLock = new();
    private readonly ExportQueue<TBatch> _queue;
    private readonly DestinationHealth _health;
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly SinkOptions _options;
    private readonly TimeSpan _exportTimeout;
    private readonly TimeSpan _roomWait;
    private readonly IExportTransport? _transport;
    private Task? _sender;
    private int _disposed;

    private long _sent;
    private long _dropped;
    private long _retries;
    private long _roomWaits;
    private long _roomWaitsRanOut;
    private volatile string? _lastError;

    private protected QueuedExporter(string name, string description, TimeSpan exportTimeout, SinkOptions? options, ILogger logger, IExportTransport? transport = null)
    {
        _transport = transport;
        Name = name;
        Description = description;
        Logger = logger;
        _options = options ?? SinkOptions.Default;
        _exportTimeout = _options.ExportTimeout ?? exportTimeout;
        _roomWait = _options.MaxRoomWait ?? _exportTimeout;
        _queue = new ExportQueue<TBatch>(_options);
        _health = new DestinationHealth(description, logger);
    }

    public string Name { get; }

    /// <summary>Name plus where it goes, for logs.</summary>
    public string Description { get; }

    protected ILogger Logger { get; }

    /// <summary>Items (spans or log records) sent and dropped so far, and how often callers waited for room.</summary>
    private protected SinkStats Counts => new(Interlocked.Read(ref _sent), Interlocked.Read(ref _dropped), _lastError)
    {
        Retries = Interlocked.Read(ref _retries),
        RoomWaits = Interlocked.Read(ref _roomWaits),
        RoomWaitsRanOut = Interlocked.Read(ref _roomWaitsRanOut),
    };

    /// <summary>What the items are called, for messages ("spans", "log records").</summary>
    private protected abstract string ItemsName { get; }

    /// <summary>Spans (or log records) in a batch.</summary>
    private protected abstract int Count(TBatch batch);

    /// <summary>The export request that carries <paramref name="batches"/>.</summary>
    private protected abstract TRequest Request(List<TBatch> batches);

    /// <summary>Counts on the shim's meter, by signal.</summary>
    private protected abstract void Metered(long sent, long dropped);

    public void Submit(TBatch batch)
    {
        try
        {
            var spans = Count(batch);
            if (spans == 0) return;
            if (!_queue.TryAdd(batch, spans))
            {
                CountDropped(spans);
                return;
            }
            // Started on first use, so that a sink whose constructor failed leaves no sender behind.
            if (_sender is null)
                lock (_startLock)
                    _sender ??= StartSender();
            _wake.Writer.TryWrite(0);
        }
        catch (Exception)
        {
            // Submit never throws: telemetry must not fail a boot. Only a null or malformed batch gets here.
        }
    }

    /// <summary>
    /// Waits until a batch of <paramref name="spans"/> fits the queue, so that submitting it drops nothing.
    /// Returns at once when it fits, when the destination is down (its last attempt failed) or stalled
    /// (an earlier wait ran out and it has delivered nothing since), or when the batch could never fit.
    /// Otherwise waits at most <see cref="SinkOptions.MaxRoomWait"/> (default: the export timeout); when that
    /// runs out the destination counts as stalled, and what does not fit is dropped and counted on submit.
    /// </summary>
    public async ValueTask WaitForRoomAsync(int spans, CancellationToken cancellationToken)
    {
        if (_queue.HasRoom(spans) || !_health.WorthWaitingFor || !_queue.CouldFit(spans)) return;
        Interlocked.Increment(ref _roomWaits);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var changed = _queue.RoomChanged; // taken before looking, so that no change is missed
            if (_queue.HasRoom(spans) || !_health.WorthWaitingFor || !_queue.CouldFit(spans)) return;
            var left = _roomWait - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                Interlocked.Increment(ref _roomWaitsRanOut);
                _health.RoomWaitRanOut(_roomWait);
                return;
            }
            try
            {
                await changed.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Looked at again above: the bound has run out.
            }
        }
    }

    public async Task FlushAsync(TimeSpan timeout)
    {
        try
        {
            await _queue.WhenDrained().WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Flush is best effort: what is still queued stays queued (and counted) for later.
        }
    }

    /// <summary>Sends one request. Returns how many spans the destination rejected (partial success) and why.</summary>
    protected abstract Task<ExportOutcome> SendAsync(TRequest request, CancellationToken cancellationToken);

    /// <summary>Whether a failed export may be tried again: the transport's verdict; without a transport, never.</summary>
    private RetryVerdict Retryable(Exception e) => _transport?.Retryable(e) ?? RetryVerdict.No;

    /// <summary>A short reason for an export failure, for the outage warning.</summary>
    private string Describe(Exception e) => _transport?.Describe(e) ?? e.Message.Split('\n')[0];

    /// <summary>Releases what the exporter writes through once the sender has stopped (the transport, by default).</summary>
    protected virtual ValueTask DisposeTransportAsync()
    {
        _transport?.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task StartSender()
    {
        // The sender must not inherit the submitter's Activity.Current or other ambient state:
        // its own I/O is not part of anyone's trace.
        if (ExecutionContext.IsFlowSuppressed()) return Task.Run(RunAsync);
        using (ExecutionContext.SuppressFlow())
            return Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        // The exporter's own HTTP/gRPC calls must not become spans that loop back into the sinks. The sinks'
        // handlers also have no ActivityHeadersPropagator, which keeps HttpClient from starting activities at all;
        // this scope covers any other instrumentation on the way.
        using var suppress = SuppressInstrumentationScope.Begin();
        try
        {
            while (await _wake.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                while (_queue.TakeRequest() is { } work)
                {
                    await ExportAsync(Request(work.Batches), work.Spans).ConfigureAwait(false);
                    _queue.Done(work.Batches.Count);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Not expected; recorded so that Stats tells why nothing more is sent.
            _lastError = $"sender stopped: {e.Message}";
            Logger.LogError(e, "OTLP sink {Destination} stopped sending", Description);
        }
    }

    private async Task ExportAsync(TRequest request, int spans)
    {
        // One deadline covers the first try and every retry: an export never takes longer than its timeout.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(_exportTimeout);
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Delivered(await SendAsync(request, timeout.Token).ConfigureAwait(false), spans);
                return;
            }
            catch (Exception e)
            {
                // Down until an attempt succeeds: whoever waits for room stops waiting now, not after the retries.
                _health.AttemptFailed();
                _queue.Nudge();
                if (!timeout.IsCancellationRequested && attempt < _options.Retry.MaxAttempts && Retryable(e) is { Retry: true } verdict)
                {
                    var pause = verdict.After ?? _options.Retry.Backoff(attempt);
                    if (clock.Elapsed + pause < _exportTimeout && await PauseAsync(pause, timeout.Token).ConfigureAwait(false))
                    {
                        CountRetry();
                        continue;
                    }
                }
                Failed(e, spans, attempt, timeout.IsCancellationRequested);
                return;
            }
        }
    }

    private static async Task<bool> PauseAsync(TimeSpan pause, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Delivered(ExportOutcome result, int spans)
    {
        var rejected = (int)Math.Clamp(result.Rejected, 0, spans);
        CountSent(spans - rejected);
        CountDropped(rejected);
        if (rejected > 0) _lastError = $"rejected {rejected} {ItemsName}: {result.Message}";
        _health.Delivered(spans, rejected, result.Message);
    }

    private void Failed(Exception e, int spans, int attempts, bool timedOut)
    {
        CountDropped(spans);
        if (_stop.IsCancellationRequested) return; // disposing: not an outage
        var reason = timedOut ? $"no answer within {_exportTimeout.TotalSeconds:0.###} s" : Describe(e);
        if (attempts > 1) reason += $" (after {attempts} attempts)";
        _lastError = reason;
        _health.Failed(reason, spans);
    }

    private void CountRetry()
    {
        Interlocked.Increment(ref _retries);
        SinkMetrics.AddRetry(Name);
    }

    private void CountSent(long spans)
    {
        Interlocked.Add(ref _sent, spans);
        Metered(spans, 0);
    }

    private void CountDropped(long spans)
    {
        Interlocked.Add(ref _dropped, spans);
        Metered(0, spans);
    }

    /// <summary>Stops the sender. Spans still queued are counted as dropped: call FlushAsync first to send them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        CountDropped(_queue.Close());
        _stop.Cancel();
        _wake.Writer.TryComplete();
        try
        {
            Task? sender;
            lock (_startLock) sender = _sender;
            if (sender is not null) await sender.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A sender that does not stop in time is abandoned; it holds no caller.
        }
        _queue.Abandon();
        await DisposeTransportAsync().ConfigureAwait(false);
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public override string ToString() => Description;
}
