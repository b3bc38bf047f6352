using Task = System.Threading.Tasks.Task;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Nerdbox.Api.Shim.V1;
using Nerdbox.Testing;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Tests.Service;

/// <summary>One task API call is one SERVER span, whatever else instruments the request; health probes make none.</summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class TaskApiSpanTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task Each_task_API_call_has_exactly_one_server_span_under_the_callers_context()
    {
        await fixture.ImageAsync();
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var scratch = new VmScratch();
        await using var shim = ShimProcess.Start(scratch.StateRoot, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.GrpcEndpoint.ToString(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRICS_EXPORTER"] = "none",
            ["OTEL_LOGS_EXPORTER"] = "none",
        });
        await shim.WaitHealthyAsync(TimeSpan.FromSeconds(120));
        using var channel = shim.TaskApiChannel();
        var client = new Api.Shim.V1.Task.TaskClient(channel);
        var ct = TestContext.Current.CancellationToken;

        // A call that joins the caller's trace, and one that starts its own.
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        var headers = new Metadata { { "traceparent", $"00-{traceId}-{callerSpan}-01" } };
        await Assert.ThrowsAsync<RpcException>(async () => await client.StateAsync(new StateRequest { Id = "joined" }, headers, cancellationToken: ct));
        await Assert.ThrowsAsync<RpcException>(async () => await client.CreateAsync(new CreateRequest { Id = "own", Bundle = Path.Combine(scratch.Root, "missing") }, cancellationToken: ct));
        await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), cancellationToken: ct);

        var spans = await receiver.WaitForSpansAsync(s => s.Count(x => x.Span.Name.StartsWith("nerdbox.shim.v1.Task/")) >= 2, TimeSpan.FromSeconds(30));
        await Task.Delay(1000, ct); // a second server span, if any, would come in the same or the next batch
        spans = receiver.Spans;
        var servers = spans.Where(s => s.Span.Kind == Span.Types.SpanKind.Server).ToList();

        var joined = Assert.Single(servers, s => Hex(s.Span.TraceId) == traceId.ToString());
        Assert.Equal("nerdbox.shim.v1.Task/State", joined.Span.Name);
        Assert.Equal(callerSpan.ToString(), Hex(joined.Span.ParentSpanId));

        var own = Assert.Single(servers, s => s.Span.Name == "nerdbox.shim.v1.Task/Create");
        Assert.True(own.Span.ParentSpanId.IsEmpty, "a call without a caller's context starts its own trace");
        Assert.Single(servers, s => s.Span.TraceId == own.Span.TraceId);

        // Every span of the two traces hangs under a span the backend has, and the health probe made no span.
        foreach (var s in spans.Where(s => s.Span.TraceId == own.Span.TraceId || Hex(s.Span.TraceId) == traceId.ToString()))
            Assert.True(s.Span.ParentSpanId.IsEmpty || Hex(s.Span.ParentSpanId) == callerSpan.ToString() || spans.Any(p => p.Span.SpanId == s.Span.ParentSpanId),
                $"{s.Span.Name} has a parent no backend has");
        Assert.DoesNotContain(spans, s => s.Span.Name.Contains("grpc.health", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(2, servers.Count);
    }

    private static string Hex(Google.Protobuf.ByteString bytes) => Convert.ToHexStringLower(bytes.Span);
}
