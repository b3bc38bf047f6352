using System.Diagnostics;

namespace Nerdbox.GuestAgent.Tracing;

/// <summary>
/// A benchmark aid, host mode only (<c>--generate-spans N</c>): once the host opens the trace stream,
/// makes N spans through the agent's real path (ActivitySource, listener, OTLP conversion, buffer),
/// shaped like RPC server spans, 100 to a trace. Paced by default: it waits while the buffer is more
/// than half full, so that it measures how fast the relay empties the buffer rather than the race
/// between one busy loop and the buffer; <c>--generate-unpaced</c> makes them as fast as it can and
/// lets the buffer drop (and count) what does not fit.
/// </summary>
internal static class SpanGenerator
{
    public static async Task RunAsync(long count, bool paced, Action<string> log)
    {
        await GuestTracing.StreamOpened.Task;
        await Task.Yield();
        var buffer = GuestTracing.Buffer;
        var sw = Stopwatch.StartNew();
        ActivityContext parent = default;
        for (long i = 0; i < count; i++)
        {
            if (i % 100 == 0)
                parent = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
            if (paced && (i & 63) == 0)
            {
                while (true)
                {
                    var (spans, bytes) = buffer.Fill;
                    if (spans <= buffer.MaxSpans / 2 && bytes <= buffer.MaxBytes / 2) break;
                    await Task.Delay(1);
                }
            }
            using var span = GuestTracing.Source.StartActivity("nerdbox.services.system.v1.System/Info", ActivityKind.Server, parent);
            span?.SetTag("rpc.system", "grpc");
            span?.SetTag("rpc.service", "nerdbox.services.system.v1.System");
            span?.SetTag("rpc.method", "Info");
            span?.SetTag("nerdbox.bench.index", i);
        }
        log($"generated {count} spans in {sw.Elapsed.TotalMilliseconds:0} ms ({(paced ? "paced to the buffer" : "unpaced")})");
    }
}
