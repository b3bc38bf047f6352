using Microsoft.Extensions.Configuration;

namespace Nerdbox.Telemetry.Settings;

/// <summary>
/// The spec's span limits as set (null where unset: the reader keeps its own default). A span-specific
/// variable wins over the general one (<c>OTEL_SPAN_ATTRIBUTE_*</c> over <c>OTEL_ATTRIBUTE_*</c>).
/// </summary>
public sealed record SpanLimits(
    int? AttributeCount,
    int? AttributeValueLength,
    int? EventCount,
    int? LinkCount,
    int? EventAttributeCount,
    int? LinkAttributeCount)
{
    public const string AttributeCountVariable = "OTEL_ATTRIBUTE_COUNT_LIMIT";
    public const string AttributeValueLengthVariable = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    public const string SpanAttributeCountVariable = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
    public const string SpanAttributeValueLengthVariable = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
    public const string SpanEventCountVariable = "OTEL_SPAN_EVENT_COUNT_LIMIT";
    public const string SpanLinkCountVariable = "OTEL_SPAN_LINK_COUNT_LIMIT";
    public const string EventAttributeCountVariable = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
    public const string LinkAttributeCountVariable = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";

    public static readonly SpanLimits None = new(null, null, null, null, null, null);

    /// <summary>
    /// Reads the limits from <paramref name="configuration"/>. Each must be a whole number ≥ 0; anything
    /// else is an <see cref="Otlp.OtlpConfigurationException"/> naming the variable, every variable is checked.
    /// </summary>
    public static SpanLimits Parse(IConfiguration configuration)
    {
        var attributeCount = SettingValues.NonNegative(configuration, AttributeCountVariable, "attributes");
        var valueLength = SettingValues.NonNegative(configuration, AttributeValueLengthVariable, "characters");
        return new SpanLimits(
            SettingValues.NonNegative(configuration, SpanAttributeCountVariable, "attributes") ?? attributeCount,
            SettingValues.NonNegative(configuration, SpanAttributeValueLengthVariable, "characters") ?? valueLength,
            SettingValues.NonNegative(configuration, SpanEventCountVariable, "events"),
            SettingValues.NonNegative(configuration, SpanLinkCountVariable, "links"),
            SettingValues.NonNegative(configuration, EventAttributeCountVariable, "attributes"),
            SettingValues.NonNegative(configuration, LinkAttributeCountVariable, "attributes"));
    }
}
