using System.Diagnostics;
using System.Text.Json.Nodes;
using Nerdbox.Api.Contract;

namespace Nerdbox.Engine.Bundles;

/// <summary>
/// What a container is told about its OTLP endpoint, written into the config the guest runs: the OpenTelemetry
/// variables (only those the bundle does not set itself: its own values win) and a network namespace of its own when
/// it has none (the VM has no network to share, so nothing is lost, and the endpoint the agent opens on its loopback
/// belongs to this container alone). A bundle that joins a namespace by path gets neither an endpoint nor variables.
/// </summary>
public static class WorkloadEnvironment
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string MetricsVariable = "OTEL_METRICS_EXPORTER";
    public const string TraceParentVariable = "TRACEPARENT";

    /// <summary>What was given: whether the guest is to open an endpoint, what the span says, which variables the bundle kept.</summary>
    public sealed record Given(bool Endpoint, string Description, IReadOnlyList<string> KeptFromBundle);

    /// <summary>
    /// Edits <paramref name="config"/> in place. <paramref name="startParent"/>, when there is one, becomes
    /// <c>TRACEPARENT</c>: the context of the container's start span, whose id is chosen before the span exists.
    /// </summary>
    public static Given Give(JsonObject config, ActivityContext? startParent)
    {
        if (config["process"] is not JsonObject process) return new Given(false, "none: the bundle's config has no process", []);

        var linux = config["linux"] as JsonObject ?? (JsonObject)(config["linux"] = new JsonObject());
        var namespaces = linux["namespaces"] as JsonArray ?? (JsonArray)(linux["namespaces"] = new JsonArray());
        var network = namespaces.OfType<JsonObject>().FirstOrDefault(n => n["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "network");
        if (network?["path"] is JsonValue joined && joined.TryGetValue<string>(out var nsPath) && nsPath.Length > 0)
            return new Given(false, $"none: the bundle joins the network namespace at {nsPath}", []);
        if (network is null) namespaces.Add((JsonNode)new JsonObject { ["type"] = "network" });

        var env = process["env"] as JsonArray ?? (JsonArray)(process["env"] = new JsonArray());
        var set = env.Select(e => e is JsonValue v && v.TryGetValue<string>(out var s) && s.IndexOf('=') is var eq and > 0 ? s[..eq] : null)
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        var kept = new List<string>();
        void Add(string key, string value)
        {
            if (set.Contains(key)) kept.Add(key);
            else env.Add((JsonNode)JsonValue.Create($"{key}={value}"));
        }
        Add(EndpointVariable, $"http://127.0.0.1:{GuestBundleLayout.WorkloadHttpPort}");
        Add(ProtocolVariable, "http/protobuf");
        Add(MetricsVariable, "none");
        if (startParent is { } parent) Add(TraceParentVariable, $"00-{parent.TraceId.ToHexString()}-{parent.SpanId.ToHexString()}-01");
        return new Given(true, GuestBundleLayout.WorkloadEndpointDescription, kept);
    }
}
