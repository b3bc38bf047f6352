using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// The least an OTLP/gRPC collector can be, for the benchmarks: <c>TraceService/Export</c> on a
/// loopback port, counting the spans it is sent and keeping nothing.
/// </summary>
public sealed class CountingOtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Counts _counts;

    private CountingOtlpReceiver(WebApplication app, Counts counts)
    {
        _app = app;
        _counts = counts;
    }

    public Uri Endpoint { get; private set; } = null!;
    public long Spans => Interlocked.Read(ref _counts.Spans);
    public long Requests => Interlocked.Read(ref _counts.Requests);

    public static async Task<CountingOtlpReceiver> StartAsync()
    {
        var counts = new Counts();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 64 * 1024 * 1024);
        builder.Services.AddSingleton(counts);
        ListenOptions? listen = null;
        builder.WebHost.ConfigureKestrel(k =>
            k.Listen(IPAddress.Loopback, 0, o => { o.Protocols = HttpProtocols.Http2; listen = o; }));
        var app = builder.Build();
        app.MapGrpcService<ExportEndpoint>();
        await app.StartAsync();
        var receiver = new CountingOtlpReceiver(app, counts);
        receiver.Endpoint = new Uri($"http://127.0.0.1:{listen!.IPEndPoint!.Port}/");
        return receiver;
    }

    public async Task<bool> WaitForSpansAsync(long count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Spans < count && DateTime.UtcNow < deadline) await Task.Delay(2);
        return Spans >= count;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Counts
    {
        public long Spans, Requests;
    }

    private sealed class ExportEndpoint(Counts counts) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            long n = 0;
            foreach (var rs in request.ResourceSpans)
                foreach (var ss in rs.ScopeSpans) n += ss.Spans.Count;
            Interlocked.Add(ref counts.Spans, n);
            Interlocked.Increment(ref counts.Requests);
            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }
}
