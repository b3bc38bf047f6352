using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Settings;
using Nerdbox.Telemetry.Sinks;

namespace Nerdbox.Tests.Telemetry;

/// <summary>How the SDK-wide OTEL_* settings are read: the values the spec allows, and an error naming the variable otherwise.</summary>
public class OtelSettingsTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("false", false)]
    [InlineData("1", false)]
    [InlineData("true", true)]
    [InlineData(" TRUE ", true)]
    public void Only_true_disables_the_sdk(string? value, bool disabled)
    {
        var settings = value is null ? TestSettings.Of() : TestSettings.Of(("OTEL_SDK_DISABLED", value));
        Assert.Equal(disabled, OtelEnvironment.IsSdkDisabled(settings));
    }

    [Fact]
    public void Resource_attributes_are_percent_decoded_and_bad_entries_reported()
    {
        var parsed = ResourceAttributes.Parse(" deployment.environment = prod%2Ceu ,team=a%3Db, ,broken,=novalue,bad=%zz,key%20x=1+1,team=c ");

        Assert.Equal(
            [new("deployment.environment", "prod,eu"), new("key x", "1+1"), new("team", "c")],
            parsed.Attributes);
        Assert.Equal(["broken", "=novalue", "bad=%zz"], parsed.BadEntries);
        Assert.Equal("c", parsed["team"]);
        Assert.Null(parsed["absent"]);
    }

    [Theory]
    [InlineData(null, null, "nerdbox")]
    [InlineData(null, "service.name=from-attributes", "from-attributes")]
    [InlineData("from-variable", "service.name=from-attributes", "from-variable")]
    public void Service_name_follows_the_specs_order(string? serviceName, string? attributes, string expected)
    {
        var settings = new List<(string, string)>();
        if (serviceName is not null) settings.Add(("OTEL_SERVICE_NAME", serviceName));
        if (attributes is not null) settings.Add(("OTEL_RESOURCE_ATTRIBUTES", attributes));
        Assert.Equal(expected, OtelEnvironment.ServiceName(TestSettings.Of([.. settings])));
    }

    [Fact]
    public void Span_limits_are_null_where_unset_and_specific_wins_over_general()
    {
        Assert.Equal(SpanLimits.None, SpanLimits.Parse(TestSettings.Of()));

        var limits = SpanLimits.Parse(TestSettings.Of(
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "64"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "10"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "0"),
            ("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "5"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "6")));

        Assert.Equal(new SpanLimits(64, 200, 10, 0, 5, 6), limits);
        Assert.Equal(32, SpanLimits.Parse(TestSettings.Of(("OTEL_ATTRIBUTE_COUNT_LIMIT", "64"), ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "32"))).AttributeCount);
    }

    [Theory]
    [InlineData("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "-1")]
    [InlineData("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "lots")]
    [InlineData("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1.5")]
    [InlineData("OTEL_SPAN_EVENT_COUNT_LIMIT", "99999999999")]
    [InlineData("OTEL_SPAN_LINK_COUNT_LIMIT", "x")]
    [InlineData("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "+3")]
    [InlineData("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "ten")]
    public void A_bad_span_limit_names_its_variable(string variable, string value)
    {
        var e = Assert.Throws<OtlpConfigurationException>(() => SpanLimits.Parse(TestSettings.Of((variable, value))));
        Assert.Equal(variable, e.Setting);
        Assert.Contains($"{variable}='{value}'", e.Message);
    }

    [Fact]
    public void Batch_settings_are_read_and_checked()
    {
        var batch = BatchSettings.Parse(TestSettings.Of(
            ("OTEL_BSP_SCHEDULE_DELAY", "1000"), ("OTEL_BSP_EXPORT_TIMEOUT", "2000"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10")));
        Assert.Equal(new BatchSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), 100, 10), batch);

        // The two sizes that mean the same for a sink's queue apply there too; delay and timeout do not.
        var options = SinkOptions.From(batch);
        Assert.Equal(100, options.MaxQueuedSpans);
        Assert.Equal(10, options.MaxSpansPerExport);
        Assert.Equal(SinkOptions.Default with { MaxQueuedSpans = 100, MaxSpansPerExport = 10 }, options);
        Assert.Equal(SinkOptions.Default, SinkOptions.From(BatchSettings.None));

        Assert.Equal("OTEL_BSP_SCHEDULE_DELAY", Assert.Throws<OtlpConfigurationException>(() =>
            BatchSettings.Parse(TestSettings.Of(("OTEL_BSP_SCHEDULE_DELAY", "soon")))).Setting);
        Assert.Equal("OTEL_BSP_MAX_QUEUE_SIZE", Assert.Throws<OtlpConfigurationException>(() =>
            BatchSettings.Parse(TestSettings.Of(("OTEL_BSP_MAX_QUEUE_SIZE", "0")))).Setting);
        Assert.Equal("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", Assert.Throws<OtlpConfigurationException>(() =>
            BatchSettings.Parse(TestSettings.Of(("OTEL_BSP_MAX_QUEUE_SIZE", "10"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "11")))).Setting);
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", OtlpCompression.Gzip)]
    [InlineData("OTEL_EXPORTER_OTLP_COMPRESSION", "none", OtlpCompression.None)]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP", OtlpCompression.Gzip)]
    public void Compression_is_read_for_the_primary_destination(string variable, string value, OtlpCompression expected)
    {
        var d = Assert.Single(OtlpConfiguration.Parse(TestSettings.Of(("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"), (variable, value))));
        Assert.Equal(expected, d.Compression);
    }

    [Fact]
    public void Traces_compression_wins_and_a_bad_value_names_its_variable()
    {
        var d = Assert.Single(OtlpConfiguration.Parse(TestSettings.Of(("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"), ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"))));
        Assert.Equal(OtlpCompression.None, d.Compression);

        var e = Assert.Throws<OtlpConfigurationException>(() => OtlpConfiguration.Parse(TestSettings.Of(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"), ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"))));
        Assert.Equal("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", e.Setting);
        Assert.Contains("'zstd'", e.Message);
    }
}
