using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Testing;

/// <summary>
/// A real OTLP trace collector for tests, on 127.0.0.1: OTLP/gRPC (<c>TraceService/Export</c>, HTTP/2
/// cleartext) on one port and OTLP/HTTP (<c>POST /v1/traces</c>, protobuf or JSON, HTTP/1.1) on another.
/// It keeps what it receives (or, for benchmarks, only counts it), and can be told to reject or stall
/// requests to test failure handling. Request bodies may be gzipped (HTTP Content-Encoding, gRPC's own).
/// Logs arrive on both ports too (<c>LogsService/Export</c>, <c>POST /v1/logs</c>) and are kept as log records
/// (<see cref="Logs"/>); logs and metrics POSTed to <c>/v1/logs</c> and <c>/v1/metrics</c> are also kept as they came.
/// </summary>
public sealed partial class OtlpReceiver : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly List<ResourceSpans> _batches = [];
    private readonly List<ReceivedSpan> _spans = [];
    private readonly List<IReadOnlyDictionary<string, string>> _headers = [];
    private readonly List<TimeSpan> _arrivals = [];
    private readonly Queue<Rejection> _rejectNext = new();
    private readonly List<SignalRequest> _signals = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private WebApplication? _app;
    private TaskCompletionSource _changed = NewSignal();
    private TaskCompletionSource _unstall = NewSignal();
    private ReceiverMode _mode;
    private int _requests;
    private long _spanCount;
    private readonly bool _keep;

    private OtlpReceiver(bool keep) => _keep = keep;

    /// <summary>gRPC base address, e.g. http://127.0.0.1:40123/.</summary>
    public Uri GrpcEndpoint { get; private set; } = null!;

    /// <summary>OTLP/HTTP traces URL, e.g. http://127.0.0.1:40124/v1/traces.</summary>
    public Uri HttpEndpoint { get; private set; } = null!;

    public ReceiverMode Mode
    {
        get => _mode;
        set
        {
            TaskCompletionSource? release = null;
            lock (_lock)
            {
                if (_mode == ReceiverMode.Stall && value != ReceiverMode.Stall)
                {
                    release = _unstall;
                    _unstall = NewSignal();
                }
                _mode = value;
            }
            release?.TrySetResult();
        }
    }

    /// <summary>When above zero, accepted requests answer with partial_success.rejected_spans = this.</summary>
    public long RejectSpansInResponse { get; set; }

    /// <summary>Answers the next <paramref name="count"/> trace export requests as <paramref name="rejection"/> says, whatever the mode.</summary>
    public void RejectNext(int count, Rejection? rejection = null)
    {
        lock (_lock)
            for (var i = 0; i < count; i++) _rejectNext.Enqueue(rejection ?? Rejection.Default);
    }

    /// <summary>When each trace export request arrived, since the receiver started.</summary>
    public IReadOnlyList<TimeSpan> RequestArrivals
    {
        get { lock (_lock) return _arrivals.ToArray(); }
    }

    /// <summary>Logs and metrics export requests, in arrival order.</summary>
    public IReadOnlyList<SignalRequest> SignalRequests
    {
        get { lock (_lock) return _signals.ToArray(); }
    }

    /// <summary>Export requests that arrived, whatever the answer.</summary>
    public int RequestCount => Volatile.Read(ref _requests);

    /// <summary>Spans accepted so far, kept or not.</summary>
    public long SpanCount => Interlocked.Read(ref _spanCount);

    public IReadOnlyList<ResourceSpans> Batches
    {
        get { lock (_lock) return _batches.ToArray(); }
    }

    /// <summary>Every stored span, flattened, with its resource's service.name.</summary>
    public IReadOnlyList<ReceivedSpan> Spans
    {
        get { lock (_lock) return _spans.ToArray(); }
    }

    /// <summary>The headers (gRPC metadata or HTTP headers, lower-case names) of each request.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> RequestHeaders
    {
        get { lock (_lock) return _headers.ToArray(); }
    }

    /// <summary>
    /// Starts listening; port 0 means any free port. With <paramref name="keepSpans"/> false it only
    /// counts (<see cref="SpanCount"/>), as a benchmark's sink needs.
    /// </summary>
    public static async Task<OtlpReceiver> StartAsync(int grpcPort = 0, int httpPort = 0, bool keepSpans = true)
    {
        var receiver = new OtlpReceiver(keepSpans);
        ListenOptions? grpcListen = null, httpListen = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // gRPC needs HTTP/2; without TLS there is no ALPN, so that port speaks only HTTP/2 (prior knowledge).
            kestrel.Listen(IPAddress.Loopback, grpcPort, o => { o.Protocols = HttpProtocols.Http2; grpcListen = o; });
            kestrel.Listen(IPAddress.Loopback, httpPort, o => { o.Protocols = HttpProtocols.Http1; httpListen = o; });
        });
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 64 * 1024 * 1024);
        builder.Services.AddSingleton(receiver);

        var app = builder.Build();
        app.MapGrpcService<TraceServiceEndpoint>();
        app.MapGrpcService<LogsServiceEndpoint>();
        app.MapPost("/v1/traces", receiver.HandleHttpAsync);
        app.MapPost("/v1/logs", receiver.HandleLogsAsync);
        app.MapPost("/v1/metrics", context => receiver.HandleSignalAsync("metrics", context));
        await app.StartAsync();
        receiver._app = app;
        // Kestrel writes the bound port back into the listen options.
        receiver.GrpcEndpoint = new Uri($"http://127.0.0.1:{grpcListen!.IPEndPoint!.Port}/");
        receiver.HttpEndpoint = new Uri($"http://127.0.0.1:{httpListen!.IPEndPoint!.Port}/v1/traces");
        return receiver;
    }

    /// <summary>Waits until <paramref name="predicate"/> holds for the spans received so far; returns them.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForSpansAsync(Func<IReadOnlyList<ReceivedSpan>, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_lock) changed = _changed.Task;
            var spans = Spans;
            if (predicate(spans)) return spans;
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the receiver's {spans.Count} spans did not satisfy the condition within {timeout}");
            }
        }
    }

    /// <summary>Waits until <paramref name="count"/> spans were accepted; false when the time ran out first.</summary>
    public async Task<bool> WaitForSpanCountAsync(long count, TimeSpan timeout)
    {
        try
        {
            await WaitAsync(() => SpanCount >= count, timeout, $"{count} spans");
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> requests have arrived (stalled ones included).</summary>
    public Task WaitForRequestsAsync(int count, TimeSpan timeout) => WaitAsync(() => RequestCount >= count, timeout, $"{count} requests");

    private async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_lock) changed = _changed.Task;
            if (condition()) return;
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the receiver did not see {what} within {timeout}");
            }
        }
    }

    /// <summary>The shared handling of both transports: a response, or how to reject.</summary>
    internal async Task<(ExportTraceServiceResponse? Response, Rejection? Rejection)> HandleAsync(ExportTraceServiceRequest request,
        IReadOnlyDictionary<string, string> headers, CancellationToken aborted)
    {
        Task unstall;
        ReceiverMode mode;
        Rejection? rejection = null;
        lock (_lock)
        {
            _requests++;
            _arrivals.Add(_clock.Elapsed);
            if (_keep) _headers.Add(headers);
            mode = _mode;
            unstall = _unstall.Task;
            if (_rejectNext.Count > 0) rejection = _rejectNext.Dequeue();
        }
        Pulse();
        if (rejection is not null) return (null, rejection);
        if (mode == ReceiverMode.Stall)
        {
            await unstall.WaitAsync(aborted);
            mode = Mode;
        }
        if (mode != ReceiverMode.Accept) return (null, Rejection.Default);

        long n = 0;
        foreach (var batch in request.ResourceSpans)
            foreach (var scope in batch.ScopeSpans) n += scope.Spans.Count;
        Interlocked.Add(ref _spanCount, n);
        if (_keep) lock (_lock)
        {
            foreach (var batch in request.ResourceSpans)
            {
                _batches.Add(batch);
                var service = ServiceNameOf(batch.Resource);
                foreach (var scope in batch.ScopeSpans)
                    foreach (var span in scope.Spans)
                        _spans.Add(new ReceivedSpan(service, scope.Scope?.Name ?? "", span, batch.Resource ?? new OtlpResource()));
            }
        }
        Pulse();
        var response = new ExportTraceServiceResponse();
        if (RejectSpansInResponse > 0)
            response.PartialSuccess = new ExportTracePartialSuccess { RejectedSpans = RejectSpansInResponse, ErrorMessage = "test receiver rejects some" };
        return (response, null);
    }

    /// <summary>Waits until a logs or metrics request satisfying <paramref name="predicate"/> has arrived.</summary>
    public Task WaitForSignalAsync(Func<SignalRequest, bool> predicate, TimeSpan timeout) =>
        WaitAsync(() => SignalRequests.Any(predicate), timeout, "the logs or metrics request");

    private static string ServiceNameOf(OtlpResource? resource) =>
        resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";

    private void Pulse()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = NewSignal();
        }
        changed.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        Mode = ReceiverMode.Reject; // releases stalled requests
        if (_app is null) return;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }

}
