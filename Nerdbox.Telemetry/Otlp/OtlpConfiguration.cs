using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Nerdbox.Telemetry.Otlp;

/// <summary>
/// Reads where spans should be exported: the standard OpenTelemetry exporter variables for the
/// primary destination ("otlp"), plus named extra destinations (<c>NERDBOX_OTLP_EXTRA_ENDPOINTS</c>
/// or the <c>Nerdbox:Otlp:Extra</c> configuration section). Every bad value fails with an
/// <see cref="OtlpConfigurationException"/> naming the setting, rather than being guessed at.
/// </summary>
public static partial class OtlpConfiguration
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string TracesEndpointVariable = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string TracesProtocolVariable = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    public const string HeadersVariable = "OTEL_EXPORTER_OTLP_HEADERS";
    public const string TracesHeadersVariable = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    public const string TimeoutVariable = "OTEL_EXPORTER_OTLP_TIMEOUT";
    public const string TracesTimeoutVariable = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
    public const string CompressionVariable = "OTEL_EXPORTER_OTLP_COMPRESSION";
    public const string TracesCompressionVariable = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
    public const string TracesExporterVariable = "OTEL_TRACES_EXPORTER";
    public const string ExtraEndpointsVariable = "NERDBOX_OTLP_EXTRA_ENDPOINTS";
    public const string ExtraSection = "Nerdbox:Otlp:Extra";

    /// <summary>The name of the destination configured by the OTEL_* variables.</summary>
    public const string PrimaryName = "otlp";

    /// <summary>The spec's default when no protocol is given for the primary destination.</summary>
    public const OtlpProtocol DefaultProtocol = OtlpProtocol.HttpProtobuf;

    /// <summary>
    /// Extra endpoints without <c>;protocol</c> are gRPC: the usual local collector
    /// (Jaeger, the Aspire dashboard) listens for OTLP/gRPC on 4317.
    /// </summary>
    public const OtlpProtocol DefaultExtraProtocol = OtlpProtocol.Grpc;

    private const string TracesPath = "v1/traces";

    /// <summary>Destinations from the process environment (variables, and <c>Nerdbox__Otlp__Extra__*</c>).</summary>
    public static IReadOnlyList<OtlpDestination> FromEnvironment() =>
        Parse(new ConfigurationBuilder().AddEnvironmentVariables().Build());

    /// <summary>
    /// Destinations from <paramref name="configuration"/>, whose keys include the environment
    /// variable names (as the environment-variables configuration provider presents them).
    /// No primary destination unless an endpoint variable is set: nothing is sent by default.
    /// </summary>
    public static IReadOnlyList<OtlpDestination> Parse(IConfiguration configuration)
    {
        var destinations = new List<OtlpDestination>();
        if (ParsePrimary(configuration) is { } primary) destinations.Add(primary);
        foreach (var extra in ParseExtras(configuration))
        {
            if (destinations.Any(d => string.Equals(d.Name, extra.Name, StringComparison.OrdinalIgnoreCase)))
                throw new OtlpConfigurationException(ExtraEndpointsVariable,
                    $"OTLP destination name '{extra.Name}' is used twice (in {ExtraEndpointsVariable}, {ExtraSection}, or the reserved name '{PrimaryName}')");
            destinations.Add(extra);
        }
        return destinations;
    }

    private static OtlpDestination? ParsePrimary(IConfiguration configuration)
    {
        var exporters = Value(configuration, TracesExporterVariable);
        if (exporters is not null && !exporters.Split(',').Any(e => e.Trim().Equals("otlp", StringComparison.OrdinalIgnoreCase)))
            return null; // e.g. OTEL_TRACES_EXPORTER=none

        var (protocolVariable, protocolText) = First(configuration, TracesProtocolVariable, ProtocolVariable);
        var protocol = protocolText is null ? DefaultProtocol : ParseProtocol(protocolVariable, protocolText);

        Uri endpoint;
        if (Value(configuration, TracesEndpointVariable) is { } tracesEndpoint)
        {
            // Signal-specific: the spec says use it as it is, path included.
            endpoint = ParseEndpoint(TracesEndpointVariable, tracesEndpoint);
        }
        else if (Value(configuration, EndpointVariable) is { } baseEndpoint)
        {
            endpoint = ParseEndpoint(EndpointVariable, baseEndpoint);
            if (protocol == OtlpProtocol.HttpProtobuf) endpoint = AppendTracesPath(endpoint);
        }
        else
        {
            return null;
        }

        var headers = ParseHeaders(HeadersVariable, Value(configuration, HeadersVariable));
        foreach (var (key, value) in ParseHeaders(TracesHeadersVariable, Value(configuration, TracesHeadersVariable)))
            headers[key] = value; // the signal-specific value wins

        var (timeoutVariable, timeoutText) = First(configuration, TracesTimeoutVariable, TimeoutVariable);
        var timeout = timeoutText is null ? OtlpDestination.DefaultTimeout : ParseTimeout(timeoutVariable, timeoutText);

        var (compressionVariable, compressionText) = First(configuration, TracesCompressionVariable, CompressionVariable);
        var compression = compressionText is null ? OtlpCompression.None : ParseCompression(compressionVariable, compressionText);
        return new OtlpDestination(PrimaryName, protocol, endpoint, headers, timeout) { Compression = compression };
    }

    private static IEnumerable<OtlpDestination> ParseExtras(IConfiguration configuration)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        if (Value(configuration, ExtraEndpointsVariable) is { } list)
        {
            foreach (var entry in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = entry.IndexOf('=');
                if (eq <= 0)
                    throw new OtlpConfigurationException(ExtraEndpointsVariable,
                        $"{ExtraEndpointsVariable}: entry '{entry}' is not name=url[;protocol]");
                var name = CheckName(ExtraEndpointsVariable, entry[..eq].Trim());
                var rest = entry[(eq + 1)..];
                var semi = rest.IndexOf(';');
                var url = semi < 0 ? rest : rest[..semi];
                var protocolText = semi < 0 ? null : rest[(semi + 1)..];
                if (!seen.Add(name))
                    throw new OtlpConfigurationException(ExtraEndpointsVariable, $"{ExtraEndpointsVariable}: the name '{name}' is used twice");
                var label = $"{ExtraEndpointsVariable} entry '{name}'";
                yield return Extra(name, ExtraEndpointsVariable, label, url, protocolText, ExtraEndpointsVariable, label, headers: null);
            }
        }

        foreach (var section in configuration.GetSection(ExtraSection).GetChildren())
        {
            var name = CheckName($"{ExtraSection}:{section.Key}", section.Key);
            var endpointKey = $"{ExtraSection}:{name}:Endpoint";
            var protocolKey = $"{ExtraSection}:{name}:Protocol";
            var url = section["Endpoint"];
            if (string.IsNullOrWhiteSpace(url))
                throw new OtlpConfigurationException(endpointKey, $"{endpointKey} is missing: an extra OTLP destination needs an endpoint URL");
            if (!seen.Add(name))
                throw new OtlpConfigurationException(endpointKey,
                    $"OTLP destination name '{name}' is used twice (in {ExtraEndpointsVariable} and {ExtraSection})");
            var headers = ParseHeaders($"{ExtraSection}:{name}:Headers", section["Headers"]);
            var compressionKey = $"{ExtraSection}:{name}:Compression";
            var compression = string.IsNullOrWhiteSpace(section["Compression"]) ? OtlpCompression.None : ParseCompression(compressionKey, section["Compression"]!);
            yield return Extra(name, endpointKey, endpointKey, url, section["Protocol"], protocolKey, protocolKey, headers) with { Compression = compression };
        }
    }

    // Extra destinations get no OTEL_EXPORTER_OTLP_HEADERS: those often carry one backend's
    // credentials, which must not leak to another.
    private static OtlpDestination Extra(string name, string endpointSetting, string endpointLabel, string url,
        string? protocolText, string protocolSetting, string protocolLabel, Dictionary<string, string>? headers)
    {
        var protocol = string.IsNullOrWhiteSpace(protocolText) ? DefaultExtraProtocol : ParseProtocol(protocolSetting, protocolText, protocolLabel);
        var endpoint = ParseEndpoint(endpointSetting, url, endpointLabel);
        // A URL that already names the traces path is taken as it is; a base URL gets /v1/traces.
        if (protocol == OtlpProtocol.HttpProtobuf && !endpoint.AbsolutePath.TrimEnd('/').EndsWith("/" + TracesPath, StringComparison.Ordinal))
            endpoint = AppendTracesPath(endpoint);
        return new OtlpDestination(name, protocol, endpoint, headers ?? new Dictionary<string, string>(), OtlpDestination.DefaultTimeout);
    }

    /// <summary>
    /// A full <c>http(s)://host:port[/path]</c> URL, or a bare <c>host:port</c> meaning plain http.
    /// Both forms appear in the wild for OTEL_EXPORTER_OTLP_ENDPOINT; taking only one of them
    /// (or forcing plaintext on an https URL) silently loses every span.
    /// </summary>
    /// <param name="label">How the message names the value, when that is more than the setting (an entry of a list).</param>
    public static Uri ParseEndpoint(string setting, string value, string? label = null)
    {
        var text = value.Trim();
        var what = label ?? setting;
        if (text.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
                throw new OtlpConfigurationException(setting, $"{what}='{value}' is not a valid URL");
            if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                throw new OtlpConfigurationException(setting, $"{what}='{value}': the scheme must be http or https, not '{uri.Scheme}'");
            return uri;
        }

        // "localhost:4317" would parse as a URL with scheme "localhost", so the bare form is checked first.
        var match = HostPort().Match(text);
        if (!match.Success || !int.TryParse(match.Groups["port"].Value, out var port) || port is < 1 or > 65535)
            throw new OtlpConfigurationException(setting,
                $"{what}='{value}' is neither a URL (http://host:port, https://host:port) nor host:port");
        return new Uri($"http://{match.Groups["host"].Value}:{port}/");
    }

    public static OtlpProtocol ParseProtocol(string setting, string value, string? label = null) => value.Trim().ToLowerInvariant() switch
    {
        "grpc" => OtlpProtocol.Grpc,
        "http/protobuf" => OtlpProtocol.HttpProtobuf,
        "http/json" => throw new OtlpConfigurationException(setting,
            $"{label ?? setting}='{value}' is not supported here: use grpc or http/protobuf"),
        _ => throw new OtlpConfigurationException(setting,
            $"{label ?? setting}='{value}' is not a known OTLP protocol: use grpc or http/protobuf"),
    };

    /// <summary><c>gzip</c> or <c>none</c>, the two values the spec names.</summary>
    public static OtlpCompression ParseCompression(string setting, string value) => value.Trim().ToLowerInvariant() switch
    {
        "gzip" => OtlpCompression.Gzip,
        "none" => OtlpCompression.None,
        _ => throw new OtlpConfigurationException(setting, $"{setting}='{value}' is not a known OTLP compression: use gzip or none"),
    };

    /// <summary><c>key=value,key2=value2</c>, values percent-decoded (W3C baggage style, as the spec says).</summary>
    public static Dictionary<string, string> ParseHeaders(string setting, string? value)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrWhiteSpace(value)) return headers;
        foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = entry.IndexOf('=');
            var key = eq < 0 ? "" : Uri.UnescapeDataString(entry[..eq].Trim());
            if (key.Length == 0)
                throw new OtlpConfigurationException(setting, $"{setting}: entry '{entry}' is not key=value");
            if (key.Any(c => c <= ' ' || c >= 127 || c == ':'))
                throw new OtlpConfigurationException(setting, $"{setting}: '{key}' is not a valid header name");
            headers[key] = Uri.UnescapeDataString(entry[(eq + 1)..].Trim());
        }
        return headers;
    }

    private static TimeSpan ParseTimeout(string setting, string value) =>
        int.TryParse(value.Trim(), out var ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : throw new OtlpConfigurationException(setting, $"{setting}='{value}' is not a positive number of milliseconds");

    private static string CheckName(string setting, string name) =>
        ExtraName().IsMatch(name)
            ? name
            : throw new OtlpConfigurationException(setting, $"{setting}: '{name}' is not a valid destination name (letters, digits, '.', '_', '-')");

    private static Uri AppendTracesPath(Uri endpoint)
    {
        var builder = new UriBuilder(endpoint);
        builder.Path = builder.Path.TrimEnd('/') + "/" + TracesPath;
        return builder.Uri;
    }

    private static string? Value(IConfiguration configuration, string key) =>
        configuration[key] is { } v && !string.IsNullOrWhiteSpace(v) ? v : null;

    private static (string Setting, string? Value) First(IConfiguration configuration, string specific, string general) =>
        Value(configuration, specific) is { } v ? (specific, v) : (general, Value(configuration, general));

    [GeneratedRegex(@"^(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+):(?<port>[0-9]{1,5})/?$")]
    private static partial Regex HostPort();

    [GeneratedRegex(@"^[A-Za-z0-9._\-]+$")]
    private static partial Regex ExtraName();
}
