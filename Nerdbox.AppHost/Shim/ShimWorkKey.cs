namespace Nerdbox.AppHost.Shim;

/// <summary>
/// The key the shim asks of every request that starts work (its Nerdbox:Http:WorkKey): a secret
/// parameter, generated for each run unless configuration gives one (<c>Parameters:shim-work-key</c>).
/// The shim gets it in its environment; the dashboard's "Boot a sample VM" command sends it.
/// </summary>
public static class ShimWorkKey
{
    public const string ParameterName = "shim-work-key";

    /// <summary>The shim's setting Nerdbox:Http:WorkKey as an environment variable.</summary>
    public const string Environment = "Nerdbox__Http__WorkKey";

    /// <summary>The header the shim reads it from (Authorization: Bearer KEY).</summary>
    public const string Scheme = "Bearer";

    public static IResourceBuilder<ParameterResource> AddWorkKeyParameter(this IDistributedApplicationBuilder builder) =>
        builder.AddParameter(ParameterName, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true)
            .WithDescription("the key the shim asks of requests that start work (the sample run)");

    public static IResourceBuilder<ProjectResource> WithWorkKey(this IResourceBuilder<ProjectResource> shim, IResourceBuilder<ParameterResource> key) =>
        shim.WithEnvironment(Environment, key);
}
