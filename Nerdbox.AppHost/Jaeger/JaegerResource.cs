namespace Nerdbox.AppHost.Jaeger;

/// <summary>Jaeger v2 all-in-one: OTLP receivers and the query UI/API.</summary>
public sealed class JaegerResource(string name) : ContainerResource(name)
{
    public const string Image = "jaegertracing/jaeger";

    /// <summary>Pinned: the query API's shape changed across 2.x (search moved to /api/v3 after 2.20).</summary>
    public const string Tag = "2.11.0";

    public const string UiEndpointName = "ui";
    public const string OtlpGrpcEndpointName = "otlp-grpc";
    public const string OtlpHttpEndpointName = "otlp-http";

    public const int UiPort = 16686;
    public const int OtlpGrpcPort = 4317;
    public const int OtlpHttpPort = 4318;

    public EndpointReference OtlpGrpc => new(this, OtlpGrpcEndpointName);
    public EndpointReference Ui => new(this, UiEndpointName);
}
