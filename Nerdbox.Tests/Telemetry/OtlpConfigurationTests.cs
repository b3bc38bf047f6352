using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Configuration;
using Nerdbox.Telemetry.Sinks;

namespace Nerdbox.Tests.Telemetry;

public class OtlpConfigurationTests
{
    private static IReadOnlyList<OtlpDestination> Parse(params (string Key, string Value)[] settings) =>
        OtlpConfiguration.Parse(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

    private static OtlpConfigurationException Fails(params (string Key, string Value)[] settings) =>
        Assert.Throws<OtlpConfigurationException>(() => Parse(settings));

    [Fact]
    public void Nothing_configured_means_no_destination()
    {
        Assert.Empty(Parse());
        Assert.Empty(Parse(("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")));
    }

    [Theory]
    [InlineData("http://collector:4318", "http://collector:4318/v1/traces")]
    [InlineData("http://collector:4318/", "http://collector:4318/v1/traces")]
    [InlineData("https://otel.example.com/otlp", "https://otel.example.com/otlp/v1/traces")]
    [InlineData("localhost:4318", "http://localhost:4318/v1/traces")]
    [InlineData("127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces")]
    [InlineData("[::1]:4318", "http://[::1]:4318/v1/traces")]
    public void Generic_endpoint_gets_the_traces_path_for_http(string value, string expected)
    {
        var d = Assert.Single(Parse(("OTEL_EXPORTER_OTLP_ENDPOINT", value)));
        Assert.Equal("otlp", d.Name);
        Assert.Equal(OtlpProtocol.HttpProtobuf, d.Protocol); // the spec's default
        Assert.Equal(new Uri(expected), d.Endpoint);
    }

    [Theory]
    [InlineData("http://localhost:4317", "http://localhost:4317/")]
    [InlineData("https://otel.example.com:443", "https://otel.example.com/")]
    [InlineData("localhost:4317", "http://localhost:4317/")]
    public void Grpc_uses_the_endpoint_as_given_and_keeps_https(string value, string expected)
    {
        var d = Assert.Single(Parse(("OTEL_EXPORTER_OTLP_ENDPOINT", value), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")));
        Assert.Equal(OtlpProtocol.Grpc, d.Protocol);
        Assert.Equal(new Uri(expected), d.Endpoint);
    }

    [Fact]
    public void Signal_specific_endpoint_and_protocol_win_and_are_used_as_is()
    {
        var d = Assert.Single(Parse(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://traces.example.com/custom/path"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")));
        Assert.Equal(OtlpProtocol.HttpProtobuf, d.Protocol);
        Assert.Equal(new Uri("https://traces.example.com/custom/path"), d.Endpoint);
    }

    [Fact]
    public void Headers_are_split_trimmed_and_url_decoded_with_traces_headers_winning()
    {
        var d = Assert.Single(Parse(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=abc%3D%3D, x-tenant = team%20one ,x-both=general"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-both=traces")));
        Assert.Equal("abc==", d.Headers["api-key"]);
        Assert.Equal("team one", d.Headers["x-tenant"]);
        Assert.Equal("traces", d.Headers["x-both"]);
    }

    [Fact]
    public void Timeout_is_read_in_milliseconds()
    {
        var d = Assert.Single(Parse(("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"), ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")));
        Assert.Equal(TimeSpan.FromMilliseconds(2500), d.Timeout);
    }

    [Fact]
    public void Traces_exporter_none_turns_the_primary_destination_off()
    {
        Assert.Empty(Parse(("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"), ("OTEL_TRACES_EXPORTER", "none")));
    }

    [Fact]
    public void Extra_endpoints_from_the_variable_are_named_and_default_to_grpc()
    {
        var all = Parse(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret"),
            ("NERDBOX_OTLP_EXTRA_ENDPOINTS", "jaeger=http://localhost:4317, aspire=localhost:18890;http/protobuf,full=http://h:4318/v1/traces;http/protobuf"));
        Assert.Equal(["otlp", "jaeger", "aspire", "full"], all.Select(d => d.Name));
        var jaeger = all[1];
        Assert.Equal(OtlpProtocol.Grpc, jaeger.Protocol);
        Assert.Equal(new Uri("http://localhost:4317/"), jaeger.Endpoint);
        Assert.Empty(jaeger.Headers); // the primary's credentials do not travel to other backends
        Assert.Equal(new Uri("http://localhost:18890/v1/traces"), all[2].Endpoint);
        Assert.Equal(new Uri("http://h:4318/v1/traces"), all[3].Endpoint);
    }

    [Fact]
    public void Extra_endpoints_from_configuration_section()
    {
        var all = Parse(
            ("Nerdbox:Otlp:Extra:jaeger:Endpoint", "http://localhost:4317"),
            ("Nerdbox:Otlp:Extra:tempo:Endpoint", "https://tempo.example.com"),
            ("Nerdbox:Otlp:Extra:tempo:Protocol", "http/protobuf"),
            ("Nerdbox:Otlp:Extra:tempo:Headers", "x-scope-orgid=nerdbox"));
        var jaeger = all.Single(d => d.Name == "jaeger");
        Assert.Equal(OtlpProtocol.Grpc, jaeger.Protocol);
        var tempo = all.Single(d => d.Name == "tempo");
        Assert.Equal(new Uri("https://tempo.example.com/v1/traces"), tempo.Endpoint);
        Assert.Equal("nerdbox", tempo.Headers["x-scope-orgid"]);
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml", "http/xml")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "http/json")]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift", "thrift")]
    [InlineData("OTEL_EXPORTER_OTLP_HEADERS", "novalue", "novalue")]
    [InlineData("OTEL_EXPORTER_OTLP_TIMEOUT", "ten", "ten")]
    public void Bad_values_name_the_variable_and_the_value(string variable, string value, string shown)
    {
        var e = Fails(("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"), (variable, value));
        Assert.Equal(variable, e.Setting);
        Assert.Contains(variable, e.Message);
        Assert.Contains(shown, e.Message);
    }

    [Theory]
    [InlineData("ftp://collector:21")]
    [InlineData("localhost")]
    [InlineData("localhost:99999")]
    [InlineData("http://")]
    [InlineData("not a url")]
    public void Bad_endpoints_name_the_variable(string value)
    {
        var e = Fails(("OTEL_EXPORTER_OTLP_ENDPOINT", value));
        Assert.Equal("OTEL_EXPORTER_OTLP_ENDPOINT", e.Setting);
        Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT", e.Message);
        Assert.Contains(value, e.Message);
    }

    [Theory]
    [InlineData("jaeger", "not name=url")]
    [InlineData("=http://localhost:4317", "not name=url")]
    [InlineData("j=localhost", "neither a URL")]
    [InlineData("j=http://localhost:4317;udp", "udp")]
    [InlineData("j=http://a:1,j=http://b:2", "used twice")]
    [InlineData("otlp=http://a:1", "used twice")]
    [InlineData("bad name=http://a:1", "not a valid destination name")]
    public void Bad_extra_endpoints_name_the_variable(string value, string expected)
    {
        var e = Fails(("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"), ("NERDBOX_OTLP_EXTRA_ENDPOINTS", value));
        Assert.Equal("NERDBOX_OTLP_EXTRA_ENDPOINTS", e.Setting);
        Assert.Contains("NERDBOX_OTLP_EXTRA_ENDPOINTS", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Extra_section_without_an_endpoint_names_the_key()
    {
        var e = Fails(("Nerdbox:Otlp:Extra:jaeger:Protocol", "grpc"));
        Assert.Equal("Nerdbox:Otlp:Extra:jaeger:Endpoint", e.Setting);
        Assert.Contains("Nerdbox:Otlp:Extra:jaeger:Endpoint", e.Message);
    }

    [Fact]
    public void Extra_section_with_a_bad_protocol_names_the_key()
    {
        var e = Fails(("Nerdbox:Otlp:Extra:jaeger:Endpoint", "http://localhost:4317"), ("Nerdbox:Otlp:Extra:jaeger:Protocol", "websocket"));
        Assert.Equal("Nerdbox:Otlp:Extra:jaeger:Protocol", e.Setting);
        Assert.Contains("websocket", e.Message);
    }
}
