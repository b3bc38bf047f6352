using System.Diagnostics;
using System.Text.Json.Nodes;
using Nerdbox.Api.Contract;

namespace Nerdbox.Engine.Bundles;

/// <summary>
/// The config.json the guest runs, made on the host from the bundle's: its root is the rootfs the guest mounts in the
/// bundle's directory, and the container is given its OTLP endpoint (<see cref="WorkloadEnvironment"/>). The guest
/// writes it as it comes: under emulation, the first JSON parse and write in the agent cost it tens of milliseconds.
/// </summary>
public sealed record GuestConfig(byte[] Json, WorkloadEnvironment.Given Workload, ActivitySpanId? StartSpanId)
{
    /// <summary>
    /// Makes the guest's config from <paramref name="bundleConfig"/> (a loaded bundle's, already checked). When
    /// <paramref name="trace"/> is a recorded span's context, the container's start span gets an id now and the
    /// container's <c>TRACEPARENT</c> names it.
    /// </summary>
    public static GuestConfig Make(byte[] bundleConfig, ActivityContext? trace)
    {
        var config = JsonNode.Parse(bundleConfig) as JsonObject ?? throw new BundleException("config.json is not a JSON object");
        var root = config["root"] as JsonObject ?? (JsonObject)(config["root"] = new JsonObject());
        root["path"] = GuestBundleLayout.RootfsDirectory;
        ActivitySpanId? startSpanId = null;
        ActivityContext? startParent = null;
        if (trace is { } t && t.TraceFlags.HasFlag(ActivityTraceFlags.Recorded))
        {
            startSpanId = ActivitySpanId.CreateRandom();
            startParent = new ActivityContext(t.TraceId, startSpanId.Value, ActivityTraceFlags.Recorded);
        }
        var given = WorkloadEnvironment.Give(config, startParent);
        return new GuestConfig(System.Text.Encoding.UTF8.GetBytes(config.ToJsonString()), given, startSpanId);
    }
}
