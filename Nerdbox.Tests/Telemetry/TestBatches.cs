using System.Diagnostics;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Tests.Telemetry;

/// <summary>Hand-made OTLP batches with real random ids.</summary>
internal static class TestBatches
{
    public static ResourceSpans Make(int spans, string service = "nerdbox", ActivityTraceId? traceId = null)
    {
        var trace = traceId ?? ActivityTraceId.CreateRandom();
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Nerdbox.Tests" } };
        var start = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000UL + 123;
        for (var i = 0; i < spans; i++)
        {
            scope.Spans.Add(new Span
            {
                TraceId = Bytes(trace),
                SpanId = Bytes(ActivitySpanId.CreateRandom()),
                ParentSpanId = i == 0 ? ByteString.Empty : scope.Spans[0].SpanId,
                Name = $"span-{i}",
                Kind = Span.Types.SpanKind.Internal,
                StartTimeUnixNano = start + (ulong)i,
                EndTimeUnixNano = start + (ulong)i + 1_000_000,
            });
        }
        return new ResourceSpans
        {
            Resource = new OtlpResource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = service } } } },
            ScopeSpans = { scope },
        };
    }

    public static ByteString Bytes(ActivityTraceId id)
    {
        var b = new byte[16];
        id.CopyTo(b);
        return ByteString.CopyFrom(b);
    }

    public static ByteString Bytes(ActivitySpanId id)
    {
        var b = new byte[8];
        id.CopyTo(b);
        return ByteString.CopyFrom(b);
    }

    public static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    public static IEnumerable<Span> AllSpans(this ResourceSpans batch) => batch.ScopeSpans.SelectMany(s => s.Spans);

    /// <summary>A loopback port nobody listens on (bound, noted, released).</summary>
    public static int ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
}
