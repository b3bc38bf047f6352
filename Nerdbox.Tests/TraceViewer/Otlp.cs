using Google.Protobuf;
using Nerdbox.TraceViewer;
using Nerdbox.TraceViewer.Sources;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>Hand-built traces for tests: spans given by small numbers, turned into OTLP protobuf.</summary>
public static class Otlp
{
    public const string TraceId = "0af7651916cd43dd8448eb211c80319c";
    public static readonly long T0 = 1_763_000_000_000_000_000; // some moment in 2025, in ns

    /// <summary>A span: ids are small numbers (made into hex), times are ms from T0.</summary>
    public sealed record S(int Id, int? Parent, string Name, double StartMs, double EndMs, string Service = "nerdbox", bool Error = false, string? TraceId = null);

    public static List<ResourceSpans> Batches(params S[] spans) =>
        spans.GroupBy(s => s.Service).Select(g =>
        {
            var rs = new ResourceSpans { Resource = new Resource() };
            rs.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = g.Key } });
            var ss = new ScopeSpans { Scope = new InstrumentationScope { Name = "test" } };
            foreach (var s in g)
            {
                var span = new Span
                {
                    TraceId = ByteString.CopyFrom(Convert.FromHexString(s.TraceId ?? TraceId)),
                    SpanId = ByteString.CopyFrom(Convert.FromHexString(SpanId(s.Id))),
                    Name = s.Name,
                    StartTimeUnixNano = (ulong)(T0 + (long)(s.StartMs * 1e6)),
                    EndTimeUnixNano = (ulong)(T0 + (long)(s.EndMs * 1e6)),
                };
                if (s.Parent is { } p) span.ParentSpanId = ByteString.CopyFrom(Convert.FromHexString(SpanId(p)));
                if (s.Error) span.Status = new Status { Code = Status.Types.StatusCode.Error, Message = "it failed" };
                span.Attributes.Add(new KeyValue { Key = "n", Value = new AnyValue { IntValue = s.Id } });
                ss.Spans.Add(span);
            }
            rs.ScopeSpans.Add(ss);
            return rs;
        }).ToList();

    public static string SpanId(int id) => id.ToString("x16");

    public static Task<TraceModel> TraceAsync(params S[] spans) => new InMemoryOtlpSource(Batches(spans)).GetAsync(null, TestContext.Current.CancellationToken);

    public static SpanNode Span(this TraceModel t, string name) => t.Spans.Single(s => s.Name == name);
}
