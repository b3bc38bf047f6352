using Microsoft.Extensions.Configuration;

namespace Nerdbox.Telemetry.Settings;

/// <summary>
/// OpenTelemetry's SDK-wide settings as the spec defines them, read one way for the whole host: whether
/// the SDK is disabled, the service name, the resource attributes, the span limits. Each has a form that
/// reads the process environment and one that reads a configuration (whose keys are the variable names).
/// </summary>
public static class OtelEnvironment
{
    public const string SdkDisabledVariable = "OTEL_SDK_DISABLED";
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";
    public const string ResourceAttributesVariable = "OTEL_RESOURCE_ATTRIBUTES";

    /// <summary>The process environment as a configuration, as a stand-alone SDK provider reads it.</summary>
    public static IConfiguration Current() => new ConfigurationBuilder().AddEnvironmentVariables().Build();

    /// <summary><c>OTEL_SDK_DISABLED=true</c> in the process environment: no telemetry leaves the host.</summary>
    public static bool SdkDisabled => IsSdkDisabled(Current());

    /// <summary>The spec's only value that disables is <c>true</c>, in any case; anything else leaves the SDK on.</summary>
    public static bool IsSdkDisabled(IConfiguration configuration) =>
        string.Equals(SettingValues.Text(configuration, SdkDisabledVariable), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary><c>OTEL_RESOURCE_ATTRIBUTES</c> from the process environment.</summary>
    public static ResourceAttributes ResourceAttributes() => ResourceAttributes(Current());

    public static ResourceAttributes ResourceAttributes(IConfiguration configuration) =>
        Settings.ResourceAttributes.Parse(configuration[ResourceAttributesVariable]);

    /// <summary>
    /// The host's <c>service.name</c>: <c>OTEL_SERVICE_NAME</c>, else <c>service.name</c> in
    /// <c>OTEL_RESOURCE_ATTRIBUTES</c> (the spec's order), else <see cref="ShimTracing.ServiceName"/>.
    /// </summary>
    public static string ServiceName(IConfiguration configuration)
    {
        if (SettingValues.Text(configuration, ServiceNameVariable) is { } name) return name;
        if (ResourceAttributes(configuration)["service.name"] is { Length: > 0 } fromAttributes) return fromAttributes;
        return ShimTracing.ServiceName;
    }

    /// <summary>The span limits from the process environment; bad values throw, naming the variable.</summary>
    public static SpanLimits SpanLimits() => Settings.SpanLimits.Parse(Current());

    /// <summary>The batch processor's settings from the process environment; bad values throw, naming the variable.</summary>
    public static BatchSettings Batch() => BatchSettings.Parse(Current());
}
