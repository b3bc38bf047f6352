namespace Nerdbox.Engine.Boot;

/// <summary>
/// The resource the host gives the guest's spans (the guest does not get to name itself): the host's
/// <c>OTEL_RESOURCE_ATTRIBUTES</c>, so that both halves of a trace share e.g. <c>deployment.environment.name</c>,
/// then the guest's own identity and what the boot ran on, which win over anything the environment says.
/// </summary>
public static class GuestResource
{
    /// <summary>Keys that name a service instance: the environment's values name the shim, never the guest.</summary>
    private static readonly HashSet<string> ServiceIdentity = ["service.name", "service.instance.id", "service.version"];

    /// <param name="vmId">The VM's (and task's) id: <c>service.instance.id</c>.</param>
    /// <param name="agentVersion">The guest agent's version: <c>service.version</c>.</param>
    /// <param name="kernelRelease">The guest kernel: <c>os.version</c>.</param>
    /// <param name="ranOn">What the boot ran on (<c>nerdbox.*</c>), as on the host's spans.</param>
    public static Dictionary<string, string> Attributes(HostOtelEnvironment otel, string vmId, string? agentVersion, string? kernelRelease,
        IEnumerable<KeyValuePair<string, string>> ranOn)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in otel.ResourceAttributes)
            if (!ServiceIdentity.Contains(key)) attributes[key] = value;
        attributes["service.instance.id"] = vmId;
        if (agentVersion is { Length: > 0 }) attributes["service.version"] = agentVersion;
        attributes["os.type"] = "linux";
        if (kernelRelease is { Length: > 0 }) attributes["os.version"] = kernelRelease;
        foreach (var (key, value) in ranOn) attributes[key] = value;
        return attributes;
    }

    /// <summary>
    /// The VM's identity on a workload's own resource: its id as <c>nerdbox.vm.id</c> (the workload's
    /// <c>service.instance.id</c> is its own) and what the boot ran on. The host sets these; they win over
    /// anything the workload says. The relay adds <c>container.id</c> itself.
    /// </summary>
    public static Dictionary<string, string> WorkloadAttributes(string vmId, IEnumerable<KeyValuePair<string, string>> ranOn)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { [VmIdKey] = vmId };
        foreach (var (key, value) in ranOn) attributes[key] = value;
        return attributes;
    }

    /// <summary>The VM's id on a workload's resource.</summary>
    public const string VmIdKey = "nerdbox.vm.id";
}
