using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Nerdbox.Engine.Bundles;

namespace Nerdbox.Tests.Workload;

/// <summary>
/// The config.json the guest runs is made on the host from the bundle's: its root is the guest's rootfs directory, and
/// the container is given its OTLP variables and a network namespace of its own unless it joins one by path.
/// </summary>
public sealed class GuestConfigTests
{
    private static readonly ActivityContext Traced = new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    private static byte[] Bundle(string env, string namespaces, string root = """{"path": "/abs/on/the/host/rootfs"}""") => Encoding.UTF8.GetBytes(
        $$$"""{"ociVersion": "1.0.2", "process": {"args": ["true"], "env": {{{env}}}}, "root": {{{root}}}, "linux": {"namespaces": {{{namespaces}}}}}""");

    private static JsonObject Json(GuestConfig made) => (JsonObject)JsonNode.Parse(made.Json)!;

    private static string[] Env(JsonObject config) => config["process"]!["env"]!.AsArray().Select(e => e!.GetValue<string>()).ToArray();

    [Fact]
    public void The_root_is_the_guests_rootfs_directory_whatever_the_host_path_was()
    {
        var made = GuestConfig.Make(Bundle("[]", "[]"), null);
        Assert.Equal("rootfs", Json(made)["root"]!["path"]!.GetValue<string>());
        Assert.Equal("rootfs", Json(GuestConfig.Make(Bundle("[]", "[]", root: """{"path": "rootfs", "readonly": true}"""), null))["root"]!["path"]!.GetValue<string>());
        Assert.True(Json(GuestConfig.Make(Bundle("[]", "[]", root: """{"path": "rootfs", "readonly": true}"""), null))["root"]!["readonly"]!.GetValue<bool>());
    }

    [Fact]
    public void A_traced_run_gives_the_variables_a_network_namespace_and_a_traceparent_naming_the_chosen_start_span()
    {
        var made = GuestConfig.Make(Bundle("""["PATH=/bin", "OTEL_METRICS_EXPORTER=console"]""", """[{"type": "pid"}]"""), Traced);

        var config = Json(made);
        var env = Env(config);
        Assert.Contains("PATH=/bin", env);
        Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", env);
        Assert.Contains("OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", env);
        Assert.Contains("OTEL_METRICS_EXPORTER=console", env);
        Assert.DoesNotContain("OTEL_METRICS_EXPORTER=none", env);
        Assert.NotNull(made.StartSpanId);
        Assert.Contains($"TRACEPARENT=00-{Traced.TraceId.ToHexString()}-{made.StartSpanId.Value.ToHexString()}-01", env);
        Assert.NotEqual(Traced.SpanId, made.StartSpanId.Value);
        Assert.Equal(["pid", "network"], config["linux"]!["namespaces"]!.AsArray().Select(n => n!["type"]!.GetValue<string>()));
        Assert.True(made.Workload.Endpoint);
        Assert.Equal("grpc 127.0.0.1:4317, http 127.0.0.1:4318", made.Workload.Description);
        Assert.Equal(["OTEL_METRICS_EXPORTER"], made.Workload.KeptFromBundle);
    }

    [Fact]
    public void An_untraced_run_gives_no_traceparent_and_chooses_no_start_span()
    {
        var unsampled = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None);
        foreach (var trace in new ActivityContext?[] { null, unsampled })
        {
            var made = GuestConfig.Make(Bundle("[]", "[]"), trace);
            Assert.Null(made.StartSpanId);
            Assert.DoesNotContain(Env(Json(made)), e => e.StartsWith("TRACEPARENT=", StringComparison.Ordinal));
            Assert.True(made.Workload.Endpoint);
        }
    }

    [Fact]
    public void A_bundle_that_has_a_network_namespace_of_its_own_keeps_it_once()
    {
        var config = Json(GuestConfig.Make(Bundle("[]", """[{"type": "network"}, {"type": "mount"}]"""), Traced));
        Assert.Equal(["network", "mount"], config["linux"]!["namespaces"]!.AsArray().Select(n => n!["type"]!.GetValue<string>()));
    }

    [Fact]
    public void A_bundle_that_joins_a_network_namespace_by_path_gets_no_endpoint_and_no_variables_and_says_why()
    {
        var made = GuestConfig.Make(Bundle("""["PATH=/bin"]""", """[{"type": "network", "path": "/proc/1/ns/net"}]"""), Traced);
        Assert.False(made.Workload.Endpoint);
        Assert.Equal("none: the bundle joins the network namespace at /proc/1/ns/net", made.Workload.Description);
        Assert.Equal(["PATH=/bin"], Env(Json(made)));
    }

    [Fact]
    public void Entries_of_unexpected_kinds_are_passed_through_not_a_crash()
    {
        // The runtime judges these; giving the endpoint must not fail on them first.
        var made = GuestConfig.Make(Bundle("""[1, null, "=x", "OTEL_EXPORTER_OTLP_ENDPOINT"]""", """[{"type": 7}, "network", {"type": "network", "path": 3}]"""), Traced);
        var strings = Json(made)["process"]!["env"]!.AsArray().OfType<JsonValue>().Where(v => v.TryGetValue<string>(out _)).Select(v => v.GetValue<string>());
        Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", strings);
        Assert.True(made.Workload.Endpoint);
    }

    [Fact]
    public void A_config_that_is_not_an_object_is_named()
    {
        Assert.Contains("not a JSON object", Assert.Throws<BundleException>(() => GuestConfig.Make("[]"u8.ToArray(), null)).Message);
    }
}
