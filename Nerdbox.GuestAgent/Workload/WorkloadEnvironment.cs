using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// What a container is told about its OTLP endpoint, written into its bundle's <c>config.json</c> before
/// <c>crun create</c>: the OpenTelemetry variables (only those the bundle does not set itself: its own values
/// win) and a network namespace of its own when it has none (the VM has no network to share, so nothing is
/// lost, and the endpoint on its loopback belongs to this container alone). A bundle that joins a namespace by
/// path gets neither an endpoint nor variables.
/// </summary>
internal static class WorkloadEnvironment
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string MetricsVariable = "OTEL_METRICS_EXPORTER";
    public const string TraceParentVariable = "TRACEPARENT";

    /// <summary>What was given: whether an endpoint is to be opened, and what the create span should say.</summary>
    public sealed record Given(bool Endpoint, string Description, IReadOnlyList<string> KeptFromBundle);

    /// <summary>
    /// Edits the bundle's config. <paramref name="startParent"/>, when there is one, becomes <c>TRACEPARENT</c>:
    /// the context of the container's start span, whose id is chosen now.
    /// </summary>
    public static Given Give(string bundlePath, ActivityContext? startParent)
    {
        var path = Path.Combine(bundlePath, "config.json");
        if (JsonNode.Parse(File.ReadAllBytes(path)) is not JsonObject config || config["process"] is not JsonObject process)
            return new Given(false, "none: the bundle's config has no process", []);

        var linux = config["linux"] as JsonObject ?? (JsonObject)(config["linux"] = new JsonObject());
        var namespaces = linux["namespaces"] as JsonArray ?? (JsonArray)(linux["namespaces"] = new JsonArray());
        var network = namespaces.OfType<JsonObject>().FirstOrDefault(n => (string?)n["type"] == "network");
        if (network?["path"] is JsonValue joined && (string?)joined is { Length: > 0 } nsPath)
            return new Given(false, $"none: the bundle joins the network namespace at {nsPath}", []);
        if (network is null) namespaces.Add((JsonNode)new JsonObject { ["type"] = "network" });

        var env = process["env"] as JsonArray ?? (JsonArray)(process["env"] = new JsonArray());
        var set = env.Select(e => (string?)e is { } s && s.IndexOf('=') is var eq and > 0 ? s[..eq] : null).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var kept = new List<string>();
        void Add(string key, string value)
        {
            if (set.Contains(key)) kept.Add(key);
            else env.Add((JsonNode)JsonValue.Create($"{key}={value}"));
        }
        Add(EndpointVariable, $"http://127.0.0.1:{WorkloadEndpoints.HttpPort}");
        Add(ProtocolVariable, "http/protobuf");
        Add(MetricsVariable, "none");
        if (startParent is { } parent) Add(TraceParentVariable, $"00-{parent.TraceId.ToHexString()}-{parent.SpanId.ToHexString()}-01");

        File.WriteAllText(path, config.ToJsonString());
        return new Given(true, $"grpc 127.0.0.1:{WorkloadEndpoints.GrpcPort}, http 127.0.0.1:{WorkloadEndpoints.HttpPort}", kept);
    }
}
