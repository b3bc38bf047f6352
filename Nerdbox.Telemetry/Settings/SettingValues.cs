using Microsoft.Extensions.Configuration;
using Nerdbox.Telemetry.Otlp;

namespace Nerdbox.Telemetry.Settings;

/// <summary>Reads numeric OTEL_* settings the one way: unset or blank is null, anything but a whole number in range is an error naming the variable.</summary>
internal static class SettingValues
{
    public static string? Text(IConfiguration configuration, string variable) =>
        configuration[variable] is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    public static int? NonNegative(IConfiguration configuration, string variable, string unit) => Integer(configuration, variable, 0, unit);

    public static int? Positive(IConfiguration configuration, string variable, string unit) => Integer(configuration, variable, 1, unit);

    private static int? Integer(IConfiguration configuration, string variable, int min, string unit)
    {
        if (Text(configuration, variable) is not { } text) return null;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw new OtlpConfigurationException(variable,
                $"{variable}='{text}' is not {(min == 0 ? "a non-negative" : "a positive")} whole number of {unit}");
    }
}
