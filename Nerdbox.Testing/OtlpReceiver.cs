using System.Net;
using Google.Protobuf;
using Grpc.Core;
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

/// <summary>How the receiver answers export requests.</summary>
public enum ReceiverMode
{
    /// <summary>Stores the spans and answers OK.</summary>
    Accept,

    /// <summary>Answers gRPC UNAVAILABLE / HTTP 503, storing nothing.</summary>
    Reject,

    /// <summary>Holds each request until the mode changes (or the client gives up).</summary>
    Stall,
}

/// <summary>One received span with the resource and scope it came in.</summary>
public sealed record ReceivedSpan(string ServiceName, string ScopeName, Span Span, OtlpResource Resource);

/// <summary>
/// A real OTLP trace collector for tests, on 127.0.0.1: OTLP/gRPC (<c>TraceService/Export</c>, HTTP/2
/// cleartext) on one port and OTLP/HTTP (<c>POST /v1/traces</c>, protobuf, HTTP/1.1) on another.
/// It keeps what it receives (or, for benchmarks, only counts it), and can be told to reject or stall
/// requests to test failure handling.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly List<ResourceSpans> _batches = [];
    private readonly List<ReceivedSpan> _spans = [];
    private readonly List<IReadOnlyDictionary<string, string>> _headers = [];
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
        app.MapPost("/v1/traces", receiver.HandleHttpAsync);
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

    /// <summary>Waits until at least <paramref name="count"/> requests have arrived (stalled ones included).</summary>
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

    /// <summary>The shared handling of both transports; null means "reject".</summary>
    internal async Task<ExportTraceServiceResponse?> HandleAsync(ExportTraceServiceRequest request,
        IReadOnlyDictionary<string, string> headers, CancellationToken aborted)
    {
        Task unstall;
        ReceiverMode mode;
        lock (_lock)
        {
            _requests++;
            if (_keep) _headers.Add(headers);
            mode = _mode;
            unstall = _unstall.Task;
        }
        Pulse();
        if (mode == ReceiverMode.Stall)
        {
            await unstall.WaitAsync(aborted);
            mode = Mode;
        }
        if (mode != ReceiverMode.Accept) return null;

        long n = 0;
        foreach (var batch in request.ResourceSpans)
            foreach (var scope in batch.ScopeSpans) n += scope.Spans.Count;
        Interlocked.Add(ref _spanCount, n);
        if (_keep) lock (_lock)
        {
            foreach (var batch in request.ResourceSpans)
            {
                _batches.Add(batch);
                var service = batch.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
                foreach (var scope in batch.ScopeSpans)
                    foreach (var span in scope.Spans)
                        _spans.Add(new ReceivedSpan(service, scope.Scope?.Name ?? "", span, batch.Resource ?? new OtlpResource()));
            }
        }
        Pulse();
        var response = new ExportTraceServiceResponse();
        if (RejectSpansInResponse > 0)
            response.PartialSuccess = new ExportTracePartialSuccess { RejectedSpans = RejectSpansInResponse, ErrorMessage = "test receiver rejects some" };
        return response;
    }

    private async Task HandleHttpAsync(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) != true)
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        var request = ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray());
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        ExportTraceServiceResponse? response;
        try
        {
            response = await HandleAsync(request, headers, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return; // the client gave up on a stalled request
        }
        if (response is null)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted);
    }

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

    /// <summary>The gRPC face: the collector's generated service base (from Nerdbox.Api's OTLP protos).</summary>
    private sealed class TraceServiceEndpoint(OtlpReceiver receiver) : TraceService.TraceServiceBase
    {
        public override async Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            var headers = context.RequestHeaders.Where(h => !h.IsBinary).GroupBy(h => h.Key)
                .ToDictionary(g => g.Key, g => g.Last().Value);
            var response = await receiver.HandleAsync(request, headers, context.CancellationToken);
            return response ?? throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "test receiver is rejecting requests"));
        }
    }
}
