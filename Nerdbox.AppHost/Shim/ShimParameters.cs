namespace Nerdbox.AppHost.Shim;

/// <summary>
/// The shim's VM backend and accelerator as AppHost parameters (default auto), set in configuration as
/// <c>Parameters:backend</c> / <c>Parameters:accelerator</c> and shown on the dashboard's parameters.
/// </summary>
public static class ShimParameters
{
    public const string BackendName = "backend";
    public const string AcceleratorName = "accelerator";

    /// <summary>The shim's own setting keys (Nerdbox:Backend, Nerdbox:Accelerator) as environment variables.</summary>
    public const string BackendEnvironment = "Nerdbox__Backend";
    public const string AcceleratorEnvironment = "Nerdbox__Accelerator";

    public const string Auto = "auto";

    /// <summary>Passes <paramref name="backend"/> and <paramref name="accelerator"/> to the shim's settings.</summary>
    public static IResourceBuilder<ProjectResource> WithVmParameters(this IResourceBuilder<ProjectResource> shim,
        IResourceBuilder<ParameterResource> backend, IResourceBuilder<ParameterResource> accelerator) =>
        shim.WithEnvironment(BackendEnvironment, backend).WithEnvironment(AcceleratorEnvironment, accelerator);

    public static IResourceBuilder<ParameterResource> AddBackendParameter(this IDistributedApplicationBuilder builder) =>
        builder.AddParameter(BackendName, new Fixed(Auto)).WithDescription("VM backend: auto, qemu or libkrun");

    public static IResourceBuilder<ParameterResource> AddAcceleratorParameter(this IDistributedApplicationBuilder builder) =>
        builder.AddParameter(AcceleratorName, new Fixed(Auto)).WithDescription("accelerator: auto, kvm or tcg");

    /// <summary>A default that configuration overrides, published to the manifest as the parameter's default.</summary>
    private sealed class Fixed(string value) : ParameterDefault
    {
        public override string GetDefaultValue() => value;

        public override void WriteToManifest(Aspire.Hosting.Publishing.ManifestPublishingContext context) => context.Writer.WriteString("value", value);
    }
}
