using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// The part every sink with slow or remote I/O shares: <see cref="Submit"/> only puts the batch on a
/// bounded queue (or drops and counts it), and one background sender merges queued batches into
/// export requests and sends them, each with a timeout. So a destination that is slow or down costs
/// the caller — a booting VM — nothing. An outage is logged once when it starts and once when it ends.
/// </summary>
public abstract class QueuedSpanSink : ISpanSink, IAsyncDisposable, IDisposable
{
    private readonly object _lock = new();
    private readonly Queue<(ResourceSpans Batch, int Spans)> _queue = new();
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly SinkOptions _options;
    private readonly TimeSpan _exportTimeout;
    private Task? _sender;
    private int _queuedSpans;
    private int _pendingBatches; // queued or being exported: what FlushAsync waits for
    private TaskCompletionSource? _drained;
    private bool _disposed;

    private long _sent;
    private long _dropped;
    private long _retries;
    private volatile string? _lastError;

    // Touched by the sender only.
    private bool _down;
    private long _droppedWhileDown;
    private bool _rejecting;

    protected QueuedSpanSink(string name, string description, TimeSpan exportTimeout, SinkOptions? options, ILogger logger)
    {
        Name = name;
        Description = description;
        Logger = logger;
        _options = options ?? SinkOptions.Default;
        _exportTimeout = _options.ExportTimeout ?? exportTimeout;
    }

    public string Name { get; }

    /// <summary>Name plus where it goes, for logs.</summary>
    public string Description { get; }

    protected ILogger Logger { get; }

    public SinkStats Stats => new(Interlocked.Read(ref _sent), Interlocked.Read(ref _dropped), _lastError) { Retries = Interlocked.Read(ref _retries) };

    public void Submit(ResourceSpans batch)
    {
        try
        {
            var spans = CountSpans(batch);
            if (spans == 0) return;
            lock (_lock)
            {
                if (_disposed || _queue.Count >= _options.MaxQueuedBatches || _queuedSpans + spans > _options.MaxQueuedSpans)
                {
                    CountDropped(spans);
                    return;
                }
                _queue.Enqueue((batch, spans));
                _queuedSpans += spans;
                _pendingBatches++;
                // Started on first use, so that a sink whose constructor failed leaves no sender behind.
                _sender ??= StartSender();
            }
            _wake.Writer.TryWrite(0);
        }
        catch (Exception)
        {
            // Submit never throws: telemetry must not fail a boot. Only a null or malformed batch gets here.
        }
    }

    public async Task FlushAsync(TimeSpan timeout)
    {
        Task drained;
        lock (_lock)
        {
            if (_pendingBatches == 0) return;
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            drained = _drained.Task;
        }
        try
        {
            await drained.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Flush is best effort: what is still queued stays queued (and counted) for later.
        }
    }

    /// <summary>Sends one request. Returns how many spans the destination rejected (partial success) and why.</summary>
    protected abstract Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken);

    /// <summary>Whether a failed export may be tried again (only answers the OTLP spec calls retryable); by default never.</summary>
    protected virtual RetryVerdict Retryable(Exception e) => RetryVerdict.No;

    /// <summary>A short reason for an export failure, for the outage warning.</summary>
    protected virtual string Describe(Exception e) => e.Message.Split('\n')[0];

    /// <summary>Releases the transport once the sender has stopped.</summary>
    protected virtual ValueTask DisposeTransportAsync() => ValueTask.CompletedTask;

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
                while (TakeRequest() is { } work)
                {
                    await ExportAsync(work.Request, work.Spans).ConfigureAwait(false);
                    Done(work.Batches);
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

    private (ExportTraceServiceRequest Request, int Spans, int Batches)? TakeRequest()
    {
        lock (_lock)
        {
            if (_queue.Count == 0) return null;
            var request = new ExportTraceServiceRequest();
            var spans = 0;
            while (_queue.TryPeek(out var next) && (spans == 0 || spans + next.Spans <= _options.MaxSpansPerExport))
            {
                _queue.Dequeue();
                request.ResourceSpans.Add(next.Batch);
                spans += next.Spans;
            }
            _queuedSpans -= spans;
            return (request, spans, request.ResourceSpans.Count);
        }
    }

    private void Done(int batches)
    {
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            _pendingBatches -= batches;
            if (_pendingBatches == 0)
            {
                drained = _drained;
                _drained = null;
            }
        }
        drained?.TrySetResult();
    }

    private async Task ExportAsync(ExportTraceServiceRequest request, int spans)
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
        var rejected = (int)Math.Clamp(result.RejectedSpans, 0, spans);
        CountSent(spans - rejected);
        CountDropped(rejected);
        if (_down)
        {
            _down = false;
            Logger.LogInformation("OTLP destination {Destination} reachable again; {Dropped} spans were dropped while it was not",
                Description, _droppedWhileDown);
            _droppedWhileDown = 0;
        }
        if (rejected > 0)
        {
            _lastError = $"rejected {rejected} spans: {result.Message}";
            if (!_rejecting)
                Logger.LogWarning("OTLP destination {Destination} rejected {Rejected} of {Spans} spans: {Message}; rejected spans are counted as dropped",
                    Description, rejected, spans, result.Message);
        }
        _rejecting = rejected > 0;
    }

    private void Failed(Exception e, int spans, int attempts, bool timedOut)
    {
        CountDropped(spans);
        if (_stop.IsCancellationRequested) return; // disposing: not an outage
        var reason = timedOut ? $"no answer within {_exportTimeout.TotalSeconds:0.###} s" : Describe(e);
        if (attempts > 1) reason += $" (after {attempts} attempts)";
        _lastError = reason;
        _droppedWhileDown += spans;
        if (!_down)
        {
            _down = true;
            Logger.LogWarning("OTLP destination {Destination} unreachable: {Reason}; spans will be counted as dropped until it recovers",
                Description, reason);
        }
    }

    private void CountRetry()
    {
        Interlocked.Increment(ref _retries);
        SinkMetrics.AddRetry(Name);
    }

    private void CountSent(long spans)
    {
        Interlocked.Add(ref _sent, spans);
        SinkMetrics.AddSent(Name, spans);
    }

    private void CountDropped(long spans)
    {
        Interlocked.Add(ref _dropped, spans);
        SinkMetrics.AddDropped(Name, spans);
    }

    internal static int CountSpans(ResourceSpans batch)
    {
        var n = 0;
        foreach (var scope in batch.ScopeSpans) n += scope.Spans.Count;
        return n;
    }

    /// <summary>Stops the sender. Spans still queued are counted as dropped: call FlushAsync first to send them.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            CountDropped(_queuedSpans);
            _pendingBatches -= _queue.Count;
            _queue.Clear();
            _queuedSpans = 0;
        }
        _stop.Cancel();
        _wake.Writer.TryComplete();
        try
        {
            if (_sender is not null) await _sender.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A sender that does not stop in time is abandoned; it holds no caller.
        }
        TaskCompletionSource? drained;
        lock (_lock)
        {
            _pendingBatches = 0;
            drained = _drained;
            _drained = null;
        }
        drained?.TrySetResult();
        await DisposeTransportAsync().ConfigureAwait(false);
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public override string ToString() => Description;
}
