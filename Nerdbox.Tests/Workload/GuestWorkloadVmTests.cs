using System.Text;
using System.Text.Json.Nodes;
using Nerdbox.Engine.Tasks;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using Nerdbox.Tests.Vm;

namespace Nerdbox.Tests.Workload;

/// <summary>
/// A real VM: the container finds its OTLP endpoint in its environment and reaches it on its own loopback,
/// with busybox alone. (The workload's spans reaching the run's trace is the relay's and is tested with it.)
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
        var configPath = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["process"]!["env"]!.AsArray().Add("OTEL_METRICS_EXPORTER=console");
        File.WriteAllText(configPath, config.ToJsonString());

        await using (var task = await VmTask.CreateAsync("otlp", bundle, await scratch.OptionsAsync(fixture)))
        {
            await task.StartAsync();
            var (status, _) = await task.WaitAsync();
            var output = Encoding.UTF8.GetString(task.Output.Stdout());
            var stderr = Encoding.UTF8.GetString(task.Output.Stderr());
            Assert.True(status == 0, $"exit {status}\n{output}\n{stderr}");
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", lines);
            Assert.Contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", lines);
            Assert.Contains("OTEL_METRICS_EXPORTER=console", lines);
            Assert.DoesNotContain("OTEL_METRICS_EXPORTER=none", lines);
            Assert.Matches("^TRACEPARENT=00-[0-9a-f]{32}-[0-9a-f]{16}-01$", Assert.Single(lines, l => l.StartsWith("TRACEPARENT=", StringComparison.Ordinal)));
            Assert.Contains("wget=0 answer={}", lines);
            await task.DeleteAsync();
        }
        scratch.AssertNothingLeft();
    }
}
