using OpenTelemetry.Exporter;

namespace Nerdbox.Telemetry.Otlp;

/// <summary>Hands a destination to the OpenTelemetry SDK's own OTLP exporter (used for logs and metrics).</summary>
public static class SdkExporterOptions
{
    /// <summary>
    /// Applies the destination for one signal ("logs", "metrics", "traces"). Over HTTP the parsed
    /// endpoint is the traces URL; the other signals take their own path beside it.
    /// </summary>
    public static void ApplyTo(this OtlpDestination d, OtlpExporterOptions o, string signal)
    {
        o.Protocol = d.Protocol == OtlpProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        var url = d.Endpoint;
        if (d.Protocol == OtlpProtocol.HttpProtobuf && url.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal))
            url = new Uri(url, url.AbsolutePath[..^"traces".Length] + signal);
        o.Endpoint = url;
        o.Headers = string.Join(",", d.Headers.Select(kv => $"{kv.Key}={Uri.EscapeDataString(kv.Value)}"));
        o.TimeoutMilliseconds = (int)d.Timeout.TotalMilliseconds;
    }
}
