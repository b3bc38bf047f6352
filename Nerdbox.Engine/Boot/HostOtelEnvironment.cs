using Microsoft.Extensions.Configuration;
using Nerdbox.Telemetry.Settings;

namespace Nerdbox.Engine.Boot;

/// <summary>
/// The host's standard OpenTelemetry settings that also apply to the guest's half of a trace:
/// <c>OTEL_RESOURCE_ATTRIBUTES</c> (given to the guest's resource too) and <c>OTEL_SDK_DISABLED</c>
/// (which stops the guest's spans as well as the shim's). Read once, at preparation.
/// </summary>
public sealed record HostOtelEnvironment
{
    public static readonly HostOtelEnvironment None = new();

    /// <summary>Resource attributes in the order given; a key given twice keeps its last value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ResourceAttributes { get; init; } = [];

    /// <summary>Telemetry is off: no guest span leaves the host either.</summary>
    public bool SdkDisabled { get; init; }

    /// <summary>Entries of <c>OTEL_RESOURCE_ATTRIBUTES</c> that were ignored, as written.</summary>
    public IReadOnlyList<string> MalformedEntries { get; init; } = [];

    public static HostOtelEnvironment FromEnvironment() => From(OtelEnvironment.Current());

    /// <summary>From a configuration whose keys are the variable names.</summary>
    public static HostOtelEnvironment From(IConfiguration configuration)
    {
        var attributes = OtelEnvironment.ResourceAttributes(configuration);
        return new HostOtelEnvironment
        {
            ResourceAttributes = attributes.Attributes,
            MalformedEntries = attributes.BadEntries,
            SdkDisabled = OtelEnvironment.IsSdkDisabled(configuration),
        };
    }
}
