using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The SDK's per-signal <c>AddOtlpExporter</c> reads only the general OTEL_EXPORTER_OTLP_* variables;
/// the spec says a signal's own (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, ..._METRICS_PROTOCOL, ...) win when set.
/// </summary>
internal static class SignalExporterOptions
{
    public static void Apply(OtlpExporterOptions options, IConfiguration config, string signal)
    {
        string? Value(string name) => config[$"OTEL_EXPORTER_OTLP_{signal}_{name}"] is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

        // A signal's own endpoint is used as given, path included (the SDK appends none to a set endpoint).
        if (Value("ENDPOINT") is { } endpoint) options.Endpoint = new Uri(endpoint);
        if (Value("PROTOCOL") is { } protocol)
            options.Protocol = protocol.Equals("grpc", StringComparison.OrdinalIgnoreCase) ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        if (Value("HEADERS") is { } headers) options.Headers = headers;
        if (Value("TIMEOUT") is { } timeout && int.TryParse(timeout, out var ms) && ms > 0) options.TimeoutMilliseconds = ms;
    }
}
