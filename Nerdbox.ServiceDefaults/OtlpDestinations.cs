using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The OTLP destinations a service exports to: the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// (a full URL or host:port) with <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> and <c>_HEADERS</c>, plus
/// named extra destinations from <c>NERDBOX_OTLP_EXTRA_ENDPOINTS</c> (<c>name=url[;protocol],...</c>).
/// </summary>
public sealed record OtlpDestination(string Name, Uri Endpoint, OtlpExportProtocol Protocol, string? Headers)
{
    /// <summary>
    /// Applies this destination to an SDK exporter's options for one signal ("logs", "metrics",
    /// "traces"). An endpoint set in code is used as-is over HTTP, so the signal's path is added here.
    /// </summary>
    public void Apply(OtlpExporterOptions o, string signal)
    {
        o.Protocol = Protocol;
        o.Endpoint = Protocol == OtlpExportProtocol.HttpProtobuf && Endpoint.AbsolutePath is "" or "/"
            ? new Uri(Endpoint, "/v1/" + signal)
            : Endpoint;
        if (Headers is not null) o.Headers = Headers;
    }
}

public static class OtlpDestinations
{
    public static IReadOnlyList<OtlpDestination> FromConfiguration(IConfiguration config)
    {
        var list = new List<OtlpDestination>();
        if (config["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } endpoint)
            list.Add(new OtlpDestination("otlp", ParseEndpoint(endpoint, "OTEL_EXPORTER_OTLP_ENDPOINT"),
                ParseProtocol(config["OTEL_EXPORTER_OTLP_PROTOCOL"], "OTEL_EXPORTER_OTLP_PROTOCOL"), config["OTEL_EXPORTER_OTLP_HEADERS"]));
        if (config["NERDBOX_OTLP_EXTRA_ENDPOINTS"] is { Length: > 0 } extras)
        {
            foreach (var item in extras.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = item.IndexOf('=');
                if (eq <= 0) throw new InvalidOperationException($"NERDBOX_OTLP_EXTRA_ENDPOINTS: '{item}' is not name=url[;protocol]");
                var name = item[..eq];
                var parts = item[(eq + 1)..].Split(';', 2);
                list.Add(new OtlpDestination(name, ParseEndpoint(parts[0], $"NERDBOX_OTLP_EXTRA_ENDPOINTS ({name})"),
                    ParseProtocol(parts.Length > 1 ? parts[1] : null, $"NERDBOX_OTLP_EXTRA_ENDPOINTS ({name})"), null));
            }
        }
        return list;
    }

    /// <summary>A full URL, or host:port (taken as http).</summary>
    public static Uri ParseEndpoint(string value, string source)
    {
        value = value.Trim();
        if (!value.Contains("://", StringComparison.Ordinal)) value = "http://" + value;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
            throw new InvalidOperationException($"{source}: '{value}' is not an http(s) URL or host:port");
        return uri;
    }

    public static OtlpExportProtocol ParseProtocol(string? value, string source) => value?.Trim() switch
    {
        null or "" or "grpc" => OtlpExportProtocol.Grpc,
        "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
        _ => throw new InvalidOperationException($"{source}: protocol '{value}' is not grpc or http/protobuf"),
    };
}
