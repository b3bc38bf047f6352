namespace Nerdbox.AppHost.Jaeger;

/// <summary>Jaeger v2 all-in-one: OTLP receivers, the query UI/API and the health-check extension.</summary>
public sealed class JaegerResource(string name) : ContainerResource(name)
{
    public const string Image = "jaegertracing/jaeger";

    /// <summary>Pinned: the query API's shape changed across 2.x (search moved to /api/v3 after 2.20).</summary>
    public const string Tag = "2.11.0";

    public const string UiEndpointName = "ui";
    public const string OtlpGrpcEndpointName = "otlp-grpc";
    public const string OtlpHttpEndpointName = "otlp-http";
    public const string HealthEndpointName = "health";

    public const int UiPort = 16686;
    public const int OtlpGrpcPort = 4317;
    public const int OtlpHttpPort = 4318;

    /// <summary>The all-in-one's healthcheckv2 extension: 200 on /status once every pipeline is up.</summary>
    public const int HealthPort = 13133;
    public const string HealthPath = "/status";

    /// <summary>Opts in to a container that outlives the AppHost, so that its traces survive a restart.</summary>
    public const string PersistentConfigKey = "Nerdbox:Jaeger:Persistent";

    public EndpointReference OtlpGrpc => new(this, OtlpGrpcEndpointName);
    public EndpointReference Ui => new(this, UiEndpointName);
}
