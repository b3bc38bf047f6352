using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Net.Client;
using Nerdbox.Engine.Clock;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// The whole host side with a real agent: the agent runs as a host process with a workload endpoint for a
/// pseudo-container on loopback (<c>--workload-endpoint app=0</c>); a client posts spans over OTLP/HTTP protobuf
/// and a log record over OTLP/gRPC to it; the shim's relay reads the agent's real trace stream and forwards
/// through real sinks to a real OTLP receiver. Drain waits for the workload's items too.
/// </summary>
public sealed class WorkloadRelayEndToEndTests
{
    private const string VmId = "vm-e2e";

    private static ByteString Id(int bytes)
    {
        var id = new byte[bytes];
        Random.Shared.NextBytes(id);
        id[0] |= 1;
        return ByteString.CopyFrom(id);
    }

    private static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static string? Attr(OtlpResource r, string key) => r.Attributes.FirstOrDefault(a => a.Key == key)?.Value.StringValue;

    [Fact]
    public async Task Workload_spans_and_logs_posted_to_the_agent_reach_the_receiver_through_the_relay_as_the_containers_own()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "app=0");
        var (grpcEndpoint, httpEndpoint) = agent.WorkloadEndpoint("app");
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var spanSink = new OtlpHttpSink(new OtlpDestination("http", OtlpProtocol.HttpProtobuf, receiver.HttpEndpoint));
        await using var logSinks = new LogSinkSet([
            new OtlpGrpcLogSink(new OtlpDestination("grpc", OtlpProtocol.Grpc, receiver.GrpcEndpoint)),
            new OtlpHttpLogSink(new OtlpDestination("http", OtlpProtocol.HttpProtobuf, receiver.HttpEndpoint)),
        ]);
        // The agent runs on the host: its clock is the host's.
        var now = DateTime.UtcNow;
        await using var relay = new GuestSpanRelay(agent.Client.Traces, new ClockEstimate(0, 0, now, 0, 1), spanSink, RelayBounds.Default,
            now.AddMinutes(-1), new Dictionary<string, string> { ["service.instance.id"] = VmId },
            GuestResource.WorkloadAttributes(VmId, [new("nerdbox.vm.backend", "host-process")]), logSinks);
        DateTime? ready = null;
        relay.OnFirstWorkloadSpan("app.Ready", end => ready = end);
        relay.Start();

        // Two spans over OTLP/HTTP protobuf, as an app's SDK would post them.
        var trace = Id(16);
        var end = (ulong)((DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100);
        var request = new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new OtlpResource { Attributes = { Kv("service.name", "sample-app"), Kv("container.id", "forged") } },
                    ScopeSpans =
                    {
                        new ScopeSpans
                        {
                            Spans =
                            {
                                new Span { TraceId = trace, SpanId = Id(8), Name = "app.LoadConfig", StartTimeUnixNano = end - 3_000_000, EndTimeUnixNano = end - 2_000_000 },
                                new Span { TraceId = trace, SpanId = Id(8), Name = "app.Ready", StartTimeUnixNano = end - 1_000_000, EndTimeUnixNano = end },
                            },
                        },
                    },
                },
            },
        };
        using (var http = new HttpClient())
        using (var content = new ByteArrayContent(request.ToByteArray()))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            using var response = await http.PostAsync(new Uri(httpEndpoint, "/v1/traces"), content);
            Assert.True(response.IsSuccessStatusCode, $"the endpoint answered {(int)response.StatusCode}");
        }
        // A log record over OTLP/gRPC.
        using (var channel = GrpcChannel.ForAddress(grpcEndpoint))
        {
            await new LogsService.LogsServiceClient(channel).ExportAsync(new ExportLogsServiceRequest
            {
                ResourceLogs =
                {
                    new ResourceLogs
                    {
                        Resource = new OtlpResource { Attributes = { Kv("service.name", "sample-app") } },
                        ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { TimeUnixNano = end, Body = new AnyValue { StringValue = "ready" }, TraceId = trace } } } },
                    },
                },
            });
        }

        // Drain counts the workload's items the guest's buffer took: it returns once they are in the sinks.
        Assert.True(await relay.DrainAsync(TimeSpan.FromSeconds(60)), relay.Stats.ToString());
        await spanSink.FlushAsync(TimeSpan.FromSeconds(60));
        await logSinks.FlushAsync(TimeSpan.FromSeconds(60));

        var spans = await receiver.WaitForSpansAsync(s => s.Count(x => x.ServiceName == "sample-app") >= 2, TimeSpan.FromSeconds(30));
        foreach (var span in spans.Where(s => s.ServiceName == "sample-app"))
        {
            Assert.Equal("app", Attr(span.Resource, "container.id"));
            Assert.Equal(VmId, Attr(span.Resource, GuestResource.VmIdKey));
            Assert.Equal("host-process", Attr(span.Resource, "nerdbox.vm.backend"));
            Assert.Equal(trace, span.Span.TraceId);
            Assert.Contains(span.Span.Attributes, a => a.Key == "nerdbox.clock.offset_ns");
        }
        Assert.Equal(["app.LoadConfig", "app.Ready"], spans.Where(s => s.ServiceName == "sample-app").Select(s => s.Span.Name).Order());

        var logs = await receiver.WaitForLogsAsync(l => l.Count >= 2, TimeSpan.FromSeconds(30));
        Assert.Equal(["grpc", "http"], logs.Select(l => l.Transport).Order());
        Assert.All(logs, l => Assert.Equal(("sample-app", "app", "ready"), (l.ServiceName, Attr(l.Resource, "container.id"), l.Record.Body.StringValue)));

        var app = Assert.Single(relay.Stats.Workloads);
        Assert.Equal(("app", 2L, 2L, 1L, 1L), (app.ContainerId, app.SpansReceived, app.SpansForwarded, app.LogsReceived, app.LogsForwarded));
        Assert.Equal((2UL, 1UL), (app.Guest.SpansReceived, app.Guest.LogsReceived));
        Assert.False(app.Lost, app.ToString());
        Assert.Equal(DateTime.UnixEpoch.AddTicks((long)(end / 100)), ready);
    }
}
