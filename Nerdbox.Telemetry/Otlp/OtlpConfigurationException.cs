namespace Nerdbox.Telemetry.Otlp;

/// <summary>A tracing setting that cannot be used; <see cref="Setting"/> names the variable or configuration key.</summary>
public sealed class OtlpConfigurationException(string setting, string message) : Exception(message)
{
    public string Setting { get; } = setting;
}
