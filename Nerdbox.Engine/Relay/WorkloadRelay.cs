using OpenTelemetry.Proto.Common.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// What the host makes of a workload's own resource: the workload's attributes, bounded, with its own
/// <c>service.name</c> (<c>unknown_service</c> when it gave none, as the OpenTelemetry SDKs say), then the
/// keys the host sets, which win: <c>container.id</c> (the container the agent received it for) and the VM's
/// identity (from the boot, see <c>GuestResource.WorkloadAttributes</c>).
/// </summary>
internal static class WorkloadRelay
{
    public const string ServiceName = "service.name";
    public const string UnknownService = "unknown_service";
    public const string ContainerIdKey = "container.id";

    /// <summary>The container id as the guest sent it, or null when it is empty, too long or not printable (then its telemetry is dropped).</summary>
    public static string? ContainerId(string id, RelayBounds bounds) =>
        id.Length == 0 || id.Length > bounds.MaxContainerIdLength || id.Any(char.IsControl) ? null : id;

    /// <summary>The resource the workload's batch is sent under; <paramref name="given"/> is changed in place and returned.</summary>
    public static OtlpResource Resource(OtlpResource? given, string containerId, IReadOnlyDictionary<string, string> vmIdentity, SpanSanitizer sanitizer)
    {
        var resource = given ?? new OtlpResource();
        sanitizer.CheckResource(resource);
        // The host's keys go; so does a key given twice (after its first), which OTLP does not allow and readers take either way.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < resource.Attributes.Count;)
        {
            var key = resource.Attributes[i].Key;
            if (key == ContainerIdKey || vmIdentity.ContainsKey(key) || !seen.Add(key)) resource.Attributes.RemoveAt(i);
            else i++;
        }
        var name = resource.Attributes.FirstOrDefault(a => a.Key == ServiceName);
        if (name is not { Value.ValueCase: AnyValue.ValueOneofCase.StringValue, Value.StringValue.Length: > 0 })
        {
            if (name is not null) resource.Attributes.Remove(name);
            resource.Attributes.Add(Kv(ServiceName, UnknownService));
        }
        resource.Attributes.Add(Kv(ContainerIdKey, containerId));
        foreach (var (key, value) in vmIdentity) resource.Attributes.Add(Kv(key, value));
        return resource;
    }

    private static KeyValue Kv(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
}
