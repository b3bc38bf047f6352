using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Nerdbox.Api.System.V1;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Testing;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OtlpSpan = OpenTelemetry.Proto.Trace.V1.Span;
using Resource = OpenTelemetry.Proto.Resource.V1.Resource;
using StatusCode = Grpc.Core.StatusCode;

namespace Nerdbox.Tests.Workload;

/// <summary>
/// The guest agent's per-container OTLP endpoint, with the agent run as a real host process and its
/// endpoints opened for named pseudo-containers on loopback ports (<c>--workload-endpoint ID=0</c>), which
/// take the same path as a container's once the sockets exist. Real clients post (the OpenTelemetry SDK's
/// own exporters, HttpClient, a gRPC channel); what comes out is read from the agent's real trace stream.
/// </summary>
public sealed class GuestWorkloadEndpointTests : IDisposable
{
    private const string InfoSpan = "nerdbox.services.system.v1.System/Info";
    private const string TraceExportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private const string MetricsExportPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    // One per test: a pooled connection must not outlive its agent (a later agent may get the same port).
    // A request that asks before sending its body (Expect: 100-continue) waits for the answer, however loaded the machine.
    private readonly HttpClient _http = new(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(60) });

    public void Dispose() => _http.Dispose();

    private static OtlpSpan NewSpan(string name, byte[]? traceId = null, byte[]? spanId = null) => new()
    {
        TraceId = ByteString.CopyFrom(traceId ?? RandomId(16)),
        SpanId = ByteString.CopyFrom(spanId ?? RandomId(8)),
        Name = name,
        StartTimeUnixNano = 1_000_000_000,
        EndTimeUnixNano = 2_000_000_000,
    };

    private static byte[] RandomId(int bytes)
    {
        var id = new byte[bytes];
        Random.Shared.NextBytes(id);
        id[0] |= 1; // never all zero
        return id;
    }

    private static ExportTraceServiceRequest Request(string service, params OtlpSpan[] spans) => new()
    {
        ResourceSpans =
        {
            new ResourceSpans
            {
                Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = service } } } },
                ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "test" }, Spans = { spans } } },
            },
        },
    };

    private async Task<HttpResponseMessage> PostAsync(Uri baseUri, string path, byte[] body, string contentType, bool askFirst = false)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, path)) { Content = content };
        request.Headers.ExpectContinue = askFirst;
        return await _http.SendAsync(request);
    }

    private Task<HttpResponseMessage> PostProtobufAsync(Uri baseUri, IMessage request, string path = "/v1/traces") =>
        PostAsync(baseUri, path, request.ToByteArray(), "application/x-protobuf");

    private async Task<ExportTraceServiceResponse> ExportOkAsync(Uri baseUri, ExportTraceServiceRequest request)
    {
        using var response = await PostProtobufAsync(baseUri, request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>The two fields of a <c>google.rpc.Status</c> answer body, read by hand as the agent writes it.</summary>
    private static (int Code, string Message) ReadStatus(byte[] body)
    {
        var input = new CodedInputStream(body);
        int code = 0;
        var message = "";
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (tag == 8) code = input.ReadInt32();
            else if (tag == 18) message = input.ReadString();
            else input.SkipLastField();
        }
        return (code, message);
    }

    /// <summary>A unary call with raw bytes as its message, so that a test can send what no generated client would.</summary>
    private static AsyncUnaryCall<byte[]> RawGrpcCall(GrpcChannel channel, string path, byte[] message)
    {
        var slash = path.LastIndexOf('/');
        var marshaller = Marshallers.Create(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, path[1..slash], path[(slash + 1)..], marshaller, marshaller);
        return channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), message);
    }

    /// <summary>One whole HTTP/1.1 answer with a chunked body (as the agent writes them), read off a raw connection.</summary>
    private static async Task<string> ReadChunkedAnswerAsync(Stream stream)
    {
        var answer = new StringBuilder();
        var buffer = new byte[1024];
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!answer.ToString().EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, guard.Token);
            if (n == 0) break;
            answer.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }
        return answer.ToString();
    }

    private static async Task<WorkloadStats> StatsOfAsync(HostAgent agent, string container)
    {
        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest());
        return Assert.Single(drain.Stats.Workloads, w => w.ContainerId == container);
    }

    [Fact]
    public async Task Spans_and_logs_posted_over_http_protobuf_json_and_grpc_come_out_as_the_containers_own()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "app=0");
        var (grpcUri, httpUri) = agent.WorkloadEndpoint("app");
        await using var stream = new GuestTraceStream(agent);

        // The OpenTelemetry SDK's own exporters, over OTLP/HTTP protobuf and OTLP/gRPC.
        var sdkTraces = new List<ActivityTraceId>();
        foreach (var (protocol, endpoint, name) in new[]
                 {
                     (OtlpExportProtocol.HttpProtobuf, new Uri(httpUri, "/v1/traces"), "sdk.http"),
                     (OtlpExportProtocol.Grpc, grpcUri, "sdk.grpc"),
                 })
        {
            var source = "test.workload." + name;
            using var provider = Sdk.CreateTracerProviderBuilder()
                .AddSource(source)
                .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("sample-app"))
                .AddOtlpExporter(o =>
                {
                    o.Protocol = protocol;
                    o.Endpoint = endpoint;
                    o.ExportProcessorType = ExportProcessorType.Simple;
                    o.TimeoutMilliseconds = 60_000; // the machine may be busy booting VMs: a guard against a hang, not a figure
                })
                .Build();
            using var activitySource = new ActivitySource(source);
            using (var span = activitySource.StartActivity(name, ActivityKind.Internal, new ActivityContext()))
            {
                Assert.NotNull(span);
                sdkTraces.Add(span.TraceId);
            }
            Assert.True(provider.ForceFlush(30_000), $"the SDK's {protocol} exporter did not flush");
        }

        // OTLP/JSON as a shell script would post it: hex ids.
        const string traceHex = "0af7651916cd43dd8448eb211c80319c", spanHex = "b7ad6b7169203331", parentHex = "00f067aa0ba902b7";
        var json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-app"}}]},
              "scopeSpans":[{"spans":[{"traceId":"TRACE","spanId":"SPAN","parentSpanId":"PARENT","name":"app.Ready","kind":1,
                "startTimeUnixNano":"1700000000000000001","endTimeUnixNano":"1700000000000000002"}]}]}]}
            """.Replace("TRACE", traceHex).Replace("SPAN", spanHex).Replace("PARENT", parentHex);
        using (var response = await PostAsync(httpUri, "/v1/traces", Encoding.UTF8.GetBytes(json), "application/json"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{}", await response.Content.ReadAsStringAsync());
        }

        // A log record over OTLP/HTTP protobuf.
        var logs = new ExportLogsServiceRequest
        {
            ResourceLogs =
            {
                new ResourceLogs
                {
                    Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "sample-app" } } } },
                    ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { Body = new AnyValue { StringValue = "ready" }, SeverityNumber = SeverityNumber.Info } } } },
                },
            },
        };
        using (var response = await PostProtobufAsync(httpUri, logs, "/v1/logs"))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await stream.WaitUntilAsync(s => s.WorkloadSpansByContainer.Count() >= 3 && s.WorkloadLogs.Any(), "three workload spans and a log record");

        var spans = stream.WorkloadSpans.ToList();
        Assert.All(spans, w => Assert.Equal("app", w.ContainerId));
        Assert.All(stream.WorkloadLogs, w => Assert.Equal("app", w.ContainerId));
        string Service(WorkloadSpans w) => w.ResourceSpans.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue;
        var byName = spans.SelectMany(w => w.ResourceSpans.ScopeSpans.SelectMany(s => s.Spans).Select(s => (Service: Service(w), Span: s))).ToDictionary(x => x.Span.Name);
        Assert.Equal(["app.Ready", "sdk.grpc", "sdk.http"], byName.Keys.Order());
        Assert.Equal("sample-app", byName["sdk.http"].Service);
        Assert.Equal("sample-app", byName["sdk.grpc"].Service);
        Assert.Equal(sdkTraces[0], ActivityTraceId.CreateFromBytes(byName["sdk.http"].Span.TraceId.Span));
        Assert.Equal(sdkTraces[1], ActivityTraceId.CreateFromBytes(byName["sdk.grpc"].Span.TraceId.Span));
        var ready = byName["app.Ready"];
        Assert.Equal("json-app", ready.Service);
        Assert.Equal(traceHex, Convert.ToHexStringLower(ready.Span.TraceId.Span));
        Assert.Equal(spanHex, Convert.ToHexStringLower(ready.Span.SpanId.Span));
        Assert.Equal(parentHex, Convert.ToHexStringLower(ready.Span.ParentSpanId.Span));
        Assert.Equal(1700000000000000002UL, ready.Span.EndTimeUnixNano);
        var record = stream.WorkloadLogs.Single().ResourceLogs.ScopeLogs.Single().LogRecords.Single();
        Assert.Equal("ready", record.Body.StringValue);

        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest());
        Assert.Equal(4UL, drain.WorkloadItemsTaken);
        var stats = Assert.Single(drain.Stats.Workloads);
        Assert.Equal(("app", 3UL, 1UL, 0UL, 0UL, 0UL, 0UL),
            (stats.ContainerId, stats.SpansReceived, stats.LogsReceived, stats.SpansDropped, stats.LogsDropped, stats.RequestsRejected, stats.ItemsRejected));
    }

    [Fact]
    public async Task Malformed_oversized_and_mistyped_requests_get_OTLP_errors_are_counted_and_the_agent_serves_on()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "bad=0");
        var (grpcUri, httpUri) = agent.WorkloadEndpoint("bad");
        await using var stream = new GuestTraceStream(agent);
        var tooLarge = new byte[5 * 1024 * 1024];

        using (var response = await PostAsync(httpUri, "/v1/traces", [0xff, 0xff, 0xff], "application/x-protobuf"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var (code, message) = ReadStatus(await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(3, code);
            Assert.Contains("not an OTLP traces export request (protobuf)", message);
        }
        var badId = """{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex!","spanId":"0102030405060708","name":"app.Broken"}]}]}]}""";
        using (var response = await PostAsync(httpUri, "/v1/traces", Encoding.UTF8.GetBytes(badId), "application/json"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            Assert.Contains("\"code\":3", body);
            Assert.Contains("app.Broken", body);
            Assert.Contains("traceId", body);
        }
        using (var response = await PostAsync(httpUri, "/v1/logs", Encoding.UTF8.GetBytes("{\"resourceLogs\": 5"), "application/json"))
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using (var response = await PostAsync(httpUri, "/v1/traces", Encoding.UTF8.GetBytes("hello"), "text/plain"))
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        // Refused on its declared length: asking first means no body is sent, so the answer cannot race a reset.
        using (var response = await PostAsync(httpUri, "/v1/traces", tooLarge, "application/x-protobuf", askFirst: true))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("larger than 4194304 bytes", ReadStatus(await response.Content.ReadAsByteArrayAsync()).Message);
        }

        using var channel = GrpcChannel.ForAddress(grpcUri, new GrpcChannelOptions { MaxSendMessageSize = null });
        var malformed = await Assert.ThrowsAsync<RpcException>(() => RawGrpcCall(channel, TraceExportPath, [0xff, 0xff, 0xff]).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        Assert.Contains("not an OTLP traces export request", malformed.Status.Detail);
        var oversized = await Assert.ThrowsAsync<RpcException>(() => RawGrpcCall(channel, TraceExportPath, tooLarge).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, oversized.StatusCode);

        // Still serving: a good export goes through on both transports, and the host channel answers. A fresh
        // channel: the agent ends a connection whose oversized message it would not read, so the old one may be closing.
        Assert.Null((await ExportOkAsync(httpUri, Request("app", NewSpan("after.http")))).PartialSuccess);
        using var again = GrpcChannel.ForAddress(grpcUri);
        var client = new TraceService.TraceServiceClient(again);
        Assert.Null((await client.ExportAsync(Request("app", NewSpan("after.grpc")), deadline: DateTime.UtcNow.AddSeconds(30))).PartialSuccess);
        await agent.Client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        await stream.WaitUntilAsync(s => s.WorkloadSpansByContainer.Count() >= 2, "the two good spans");
        Assert.Equal(["after.grpc", "after.http"], stream.WorkloadSpansByContainer.Select(x => x.Span.Name).Order());
        Assert.False(agent.HasExited);

        var stats = await StatsOfAsync(agent, "bad");
        Assert.Equal(7UL, stats.RequestsRejected);
        Assert.Equal(2UL, stats.SpansReceived);
    }

    public static TheoryData<string, byte[], int, string> BadGrpcFraming => new()
    {
        { "no message", [], 3, "no gRPC message in the call" },
        { "a cut-off message", [0, 0, 0, 0, 9, 1], 3, "exactly one gRPC message" },
        { "two messages", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3, "exactly one gRPC message" },
        { "a declared length over the bound", [0, 0x7f, 0xff, 0xff, 0xff], 8, "larger than 4194304 bytes" },
        { "an unknown message flag", [2, 0, 0, 0, 0], 3, "bad gRPC message flag 2" },
        { "a compressed message without its encoding", [1, 0, 0, 0, 0], 3, "grpc-encoding '' is not supported" },
    };

    [Theory]
    [MemberData(nameof(BadGrpcFraming))]
    public async Task A_badly_framed_grpc_export_gets_a_status_naming_the_fault_and_is_counted(string what, byte[] body, int code, string detail)
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "framing=0");
        var (grpcUri, _) = agent.WorkloadEndpoint("framing");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        var (status, message) = await RawGrpcFrames.CallAsync(http, grpcUri.ToString(), TraceExportPath, body);

        Assert.True(status == code && message.Contains(detail, StringComparison.Ordinal), $"{what}: status {status}: {message}");
        Assert.Equal(1UL, (await StatsOfAsync(agent, "framing")).RequestsRejected);
    }

    [Fact]
    public async Task Spans_with_bad_ids_are_refused_one_by_one_and_answered_as_partial_success()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "ids=0");
        var (_, httpUri) = agent.WorkloadEndpoint("ids");
        await using var stream = new GuestTraceStream(agent);

        var answer = await ExportOkAsync(httpUri, Request("app",
            NewSpan("good.1"), NewSpan("zero.trace", traceId: new byte[16]), NewSpan("good.2"),
            NewSpan("short.span", spanId: [1, 2, 3, 4]), NewSpan("good.3")));

        Assert.NotNull(answer.PartialSuccess);
        Assert.Equal(2, answer.PartialSuccess.RejectedSpans);
        Assert.Contains("span 'zero.trace': trace_id is all zero", answer.PartialSuccess.ErrorMessage);
        await stream.WaitUntilAsync(s => s.WorkloadSpansByContainer.Count() >= 3, "the three good spans");
        Assert.Equal(["good.1", "good.2", "good.3"], stream.WorkloadSpansByContainer.Select(x => x.Span.Name).Order());
        var stats = await StatsOfAsync(agent, "ids");
        Assert.Equal((5UL, 2UL, 0UL, 0UL), (stats.SpansReceived, stats.ItemsRejected, stats.SpansDropped, stats.RequestsRejected));
    }

    [Fact]
    public async Task A_flooding_container_is_bounded_and_counted_and_crowds_out_neither_another_container_nor_the_agent()
    {
        // The agent's buffer holds 400 spans; the workloads' share a quarter of that (100), each container half the share (50).
        await using var agent = await HostAgent.StartAsync("--span-buffer-spans", "400", "--workload-endpoint", "flood=0", "--workload-endpoint", "calm=0");
        var (_, floodUri) = agent.WorkloadEndpoint("flood");
        var (_, calmUri) = agent.WorkloadEndpoint("calm");

        // Nobody reads the buffer yet, so what is held is exactly what the bounds let in.
        var flood = await ExportOkAsync(floodUri, Request("flood", Enumerable.Range(0, 200).Select(i => NewSpan("flood." + i)).ToArray()));
        Assert.Equal(150, flood.PartialSuccess.RejectedSpans);
        Assert.Contains("150 dropped", flood.PartialSuccess.ErrorMessage);
        var again = await ExportOkAsync(floodUri, Request("flood", NewSpan("flood.more")));
        Assert.Equal(1, again.PartialSuccess.RejectedSpans);
        var calm = await ExportOkAsync(calmUri, Request("calm", Enumerable.Range(0, 10).Select(i => NewSpan("calm." + i)).ToArray()));
        Assert.Null(calm.PartialSuccess);

        const int calls = 20;
        for (var i = 0; i < calls; i++)
        {
            var root = new Activity("test.Call");
            root.SetIdFormat(ActivityIdFormat.W3C);
            root.ActivityTraceFlags = ActivityTraceFlags.Recorded;
            root.Start();
            try { await agent.Client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(30)); }
            finally { root.Stop(); Activity.Current = null; }
        }

        await using var stream = new GuestTraceStream(agent);
        int AgentSpans(GuestTraceStream s) => s.Batches.Sum(b => b.ScopeSpans.Sum(ss => ss.Spans.Count(x => x.Name == InfoSpan)));
        await stream.WaitUntilAsync(s => AgentSpans(s) >= calls && s.WorkloadSpansByContainer.Count() >= 60, "the agent's spans and the workloads' held spans");

        var byContainer = stream.WorkloadSpansByContainer.GroupBy(x => x.Container).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(50, byContainer["flood"]);
        Assert.Equal(10, byContainer["calm"]);
        Assert.Equal(calls, AgentSpans(stream));

        var drain = await agent.Client.Traces.DrainAsync(new DrainRequest());
        Assert.Equal(0UL, drain.Stats.SpansDropped);
        var floodStats = drain.Stats.Workloads.Single(w => w.ContainerId == "flood");
        var calmStats = drain.Stats.Workloads.Single(w => w.ContainerId == "calm");
        Assert.Equal((201UL, 151UL), (floodStats.SpansReceived, floodStats.SpansDropped));
        Assert.Equal((10UL, 0UL), (calmStats.SpansReceived, calmStats.SpansDropped));
        Assert.Equal(60UL, drain.WorkloadItemsTaken);

        // Once read, the container's bound has room again.
        Assert.Null((await ExportOkAsync(floodUri, Request("flood", NewSpan("flood.later")))).PartialSuccess);
    }

    [Fact]
    public async Task Only_the_OTLP_export_paths_are_served_on_a_workload_endpoint()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "probe=0");
        var (grpcUri, httpUri) = agent.WorkloadEndpoint("probe");

        using (var response = await PostAsync(httpUri, "/nerdbox.services.system.v1.System/Info", [], "application/grpc"))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using (var response = await _http.GetAsync(new Uri(httpUri, "/v1/traces")))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using (var response = await PostProtobufAsync(httpUri, new ExportTraceServiceRequest(), "/v1/metrics"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("metrics are not relayed", ReadStatus(await response.Content.ReadAsByteArrayAsync()).Message);
        }
        // The OTLP/gRPC export path is not served on the HTTP endpoint either, nor /v1/traces on the gRPC one.
        using (var response = await PostProtobufAsync(httpUri, new ExportTraceServiceRequest(), TraceExportPath))
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        using var channel = GrpcChannel.ForAddress(grpcUri);
        var system = await Assert.ThrowsAsync<RpcException>(() => new Api.System.V1.System.SystemClient(channel).InfoAsync(new InfoRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, system.StatusCode);
        var metrics = await Assert.ThrowsAsync<RpcException>(() => RawGrpcCall(channel, MetricsExportPath, []).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, metrics.StatusCode);
        Assert.Contains("metrics are not relayed", metrics.Status.Detail);

        // The agent's own services stay on the host channel, which in turn does not serve the workload paths.
        await agent.Client.System.InfoAsync(new InfoRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(6UL, (await StatsOfAsync(agent, "probe")).RequestsRejected);
    }

    [Fact]
    public async Task A_container_holds_a_bounded_number_of_connections_and_gets_them_back_when_they_close()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "conn=0");
        var (_, httpUri) = agent.WorkloadEndpoint("conn");

        // More connections than the bound, one after another: each closes before the next opens.
        for (var i = 0; i < 40; i++)
        {
            using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, MaxConnectionsPerServer = 1 });
            using var response = await client.PostAsync(new Uri(httpUri, "/v1/traces"), new ByteArrayContent(Request("app", NewSpan("conn." + i)).ToByteArray())
            {
                Headers = { ContentType = new MediaTypeHeaderValue("application/x-protobuf") },
            });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Held open at once, the connections beyond the bound are closed by the agent without a request served.
        var held = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < 16; i++)
            {
                var c = new System.Net.Sockets.TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, httpUri.Port);
                held.Add(c);
            }
            using var extra = new HttpClient();
            await Assert.ThrowsAsync<HttpRequestException>(() => extra.PostAsync(new Uri(httpUri, "/v1/traces"),
                new ByteArrayContent([]) { Headers = { ContentType = new MediaTypeHeaderValue("application/x-protobuf") } }));
        }
        finally
        {
            foreach (var c in held) c.Dispose();
        }
        Assert.Equal(40UL, (await StatsOfAsync(agent, "conn")).SpansReceived);
    }
    [Fact]
    public async Task An_endpoint_opened_in_a_network_namespace_brings_its_loopback_up_and_answers_there()
    {
        if (Environment.UserName != "root") Assert.Skip("joining a network namespace needs root");
        foreach (var tool in new[] { "unshare", "nsenter", "curl" })
            if (Nerdbox.Engine.Host.HostTools.Find(tool) is null) Assert.Skip(tool + " is not installed");

        // A fresh namespace, as crun makes one for a container: only a loopback interface, down.
        using var holder = Process.Start(new ProcessStartInfo("unshare", ["--net", "sleep", "300"]) { UseShellExecute = false })!;
        try
        {
            var netns = $"/proc/{holder.Id}/ns/net";
            while (File.ResolveLinkTarget(netns, false)?.Name == File.ResolveLinkTarget("/proc/self/ns/net", false)?.Name) await Task.Delay(10);
            await using var agent = await HostAgent.StartAsync("--workload-netns", "inns=" + netns);
            Assert.Contains($"workload endpoint inns: in {netns}, loopback brought up", agent.Log);
            await using var stream = new GuestTraceStream(agent);

            var json = """{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"from.inside"}]}]}]}""";
            var curl = Process.Start(new ProcessStartInfo("nsenter", ["--net=" + netns, "curl", "-s", "-w", " %{http_code}", "-H", "Content-Type: application/json",
                "--data", json, "http://127.0.0.1:4318/v1/traces"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
            var answer = await curl.StandardOutput.ReadToEndAsync();
            await curl.WaitForExitAsync();
            Assert.Equal("{} 200", answer);

            await stream.WaitUntilAsync(s => s.WorkloadSpansByContainer.Any(), "the span posted from inside the namespace");
            var (container, span) = Assert.Single(stream.WorkloadSpansByContainer);
            Assert.Equal(("inns", "from.inside"), (container, span.Name));
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync();
        }
    }
    [Fact]
    public async Task A_container_has_a_bounded_number_of_exports_in_flight_and_the_rest_are_told_to_retry()
    {
        await using var agent = await HostAgent.StartAsync("--workload-endpoint", "busy=0");
        var (_, httpUri) = agent.WorkloadEndpoint("busy");
        var body = Request("app", NewSpan("held")).ToByteArray();
        const int requests = 6, inFlight = 2;

        // Six requests whose bodies are not finished: two get in and wait for their bodies, the others are refused.
        var held = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (var i = 0; i < requests; i++)
            {
                var c = new System.Net.Sockets.TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, httpUri.Port);
                var head = $"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: {body.Length}\r\n\r\n";
                await c.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head));
                await c.GetStream().WriteAsync(body.AsMemory(0, 3));
                held.Add(c);
            }
            // The refusals are counted as they happen: wait until all four are in, so the two holders are the two in flight.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            ulong? refused;
            while ((refused = (await agent.Client.Traces.DrainAsync(new DrainRequest())).Stats.Workloads.SingleOrDefault(w => w.ContainerId == "busy")?.RequestsRejected) != requests - inFlight)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{refused} of the {requests - inFlight} refusals were counted within 60 s:\n" + agent.Log);
                await Task.Delay(20);
            }

            var answers = new List<string>();
            foreach (var c in held)
            {
                await c.GetStream().WriteAsync(body.AsMemory(3));
                answers.Add(await ReadChunkedAnswerAsync(c.GetStream()));
            }
            Assert.Equal(inFlight, answers.Count(a => a.StartsWith("HTTP/1.1 200", StringComparison.Ordinal)));
            Assert.Equal(requests - inFlight, answers.Count(a => a.StartsWith("HTTP/1.1 429", StringComparison.Ordinal)));
            Assert.All(answers.Where(a => a.Contains(" 429 ")), a => Assert.Contains("export requests at once from this container", a));
        }
        finally
        {
            foreach (var c in held) c.Dispose();
        }

        // The slots are free again.
        using var after = await PostAsync(httpUri, "/v1/traces", body, "application/x-protobuf");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(3UL, (await StatsOfAsync(agent, "busy")).SpansReceived);
    }
}
