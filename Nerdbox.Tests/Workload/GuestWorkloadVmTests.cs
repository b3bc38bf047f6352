using System.Text;
using System.Text.Json.Nodes;
using Nerdbox.Engine.Tasks;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using Nerdbox.Tests.Vm;

namespace Nerdbox.Tests.Workload;

/// <summary>
/// A real VM: the container finds its OTLP endpoint in its environment and reaches it on its own loopback,
/// with busybox alone, and the TRACEPARENT it was given names its start span in the run's trace. (The workload's
/// own spans reaching the run's trace is the relay's work and is tested with it.)
/// </summary>
[Collection(nameof(VmCollection))]
public sealed class GuestWorkloadVmTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task A_container_is_given_the_OTLP_variables_and_its_endpoint_answers_on_its_loopback()
    {
        await using var scratch = new VmScratch();
        const string script = """
            env | grep -E '^(OTEL_|TRACEPARENT=)' | sort
            IFS=-; set -- $TRACEPARENT; unset IFS
            body='{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"vm-app"}}]},"scopeSpans":[{"spans":[{"traceId":"'$2'","spanId":"0102030405060708","parentSpanId":"'$3'","name":"app.Ready","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}'
            answer=$(/bin/busybox wget -q -O - --header 'Content-Type: application/json' --post-data "$body" "$OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces")
            echo "wget=$? answer=$answer"
            """;
        var bundle = await scratch.BundleAsync("otlp", "sh", "-c", script);
        // The bundle sets one of the variables itself: its own value wins.
        BundleConfig.Edit(bundle, config => config["process"]!["env"]!.AsArray().Add("OTEL_METRICS_EXPORTER=console"));

        await using var traced = await TracedRun.StartAsync();
        var run = await TaskRun.RunAsync("otlp", bundle, await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks });
        var output = Encoding.UTF8.GetString(run.Stdout);
        Assert.True(run.ExitStatus == 0, $"exit {run.ExitStatus}\n{output}\n{Encoding.UTF8.GetString(run.Stderr)}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", lines);
        Assert.Contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", lines);
        Assert.Contains("OTEL_METRICS_EXPORTER=console", lines);
        Assert.DoesNotContain("OTEL_METRICS_EXPORTER=none", lines);
        Assert.Contains("wget=0 answer={}", lines);

        // TRACEPARENT names the container's start span: the run's trace, and the id crun.Start carries.
        var traceparent = Assert.Single(lines, l => l.StartsWith("TRACEPARENT=", StringComparison.Ordinal));
        Assert.Matches("^TRACEPARENT=00-[0-9a-f]{32}-[0-9a-f]{16}-01$", traceparent);
        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "crun.Start") && s.Any(x => x.Span.Name == "task.Create") && s.Any(x => x.Span.Name == "shim.BundleLoad"));
        var start = Assert.Single(spans, s => s.Span.Name == "crun.Start").Span;
        Assert.Equal($"TRACEPARENT=00-{run.TraceId}-{TracedRun.Hex(start.SpanId)}-01", traceparent);
        // The host's load span says what the config was given, the guest's create span what the agent opened.
        var load = Assert.Single(spans, s => s.Span.Name == "shim.BundleLoad").Span;
        Assert.Equal("grpc 127.0.0.1:4317, http 127.0.0.1:4318", Attribute(load, "nerdbox.workload.endpoint"));
        Assert.Equal("OTEL_METRICS_EXPORTER", Attribute(load, "nerdbox.workload.env_from_bundle"));
        var create = Assert.Single(spans, s => s.Span.Name == "task.Create").Span;
        Assert.Equal("grpc 127.0.0.1:4317, http 127.0.0.1:4318", Attribute(create, "nerdbox.workload.endpoint"));
    }

    [Fact]
    public async Task A_container_that_joins_a_network_namespace_by_path_gets_no_endpoint_and_its_load_span_says_why()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("joined", "sh", "-c", "env | grep -E '^(OTEL_|TRACEPARENT=)'; echo checked");
        BundleConfig.Edit(bundle, config => config["linux"]!["namespaces"]!.AsArray().Add(new JsonObject { ["type"] = "network", ["path"] = "/proc/1/ns/net" }));

        await using var traced = await TracedRun.StartAsync();
        var run = await TaskRun.RunAsync("joined", bundle, await scratch.OptionsAsync(fixture) with { GuestSpanSink = traced.Sinks });
        // grep finds nothing, so the script's last line alone is printed.
        Assert.Equal("checked\n", Encoding.UTF8.GetString(run.Stdout));
        var spans = await traced.CollectAsync(run.TraceId, s => s.Any(x => x.Span.Name == "task.Create") && s.Any(x => x.Span.Name == "shim.BundleLoad"));
        var load = Assert.Single(spans, s => s.Span.Name == "shim.BundleLoad").Span;
        Assert.Equal("none: the bundle joins the network namespace at /proc/1/ns/net", Attribute(load, "nerdbox.workload.endpoint"));
        // The agent was not asked to open one.
        var create = Assert.Single(spans, s => s.Span.Name == "task.Create").Span;
        Assert.DoesNotContain(create.Attributes, a => a.Key == "nerdbox.workload.endpoint");
    }

    private static string Attribute(OpenTelemetry.Proto.Trace.V1.Span span, string key) => span.Attributes.Single(a => a.Key == key).Value.StringValue;
}
