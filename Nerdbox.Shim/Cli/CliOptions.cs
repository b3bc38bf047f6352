using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Nerdbox.Engine.Relay;

namespace Nerdbox.Shim.Cli;

/// <summary>
/// Options whose bad values are parse errors that name the option, so they exit 2 before any work starts.
/// </summary>
internal static class CliOptions
{
    public static Option<int> PositiveInt(string name, string helpName, string description, int defaultValue) => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = ParsePositiveInt,
    };

    /// <summary>A positive whole number with no default: null when not given.</summary>
    public static Option<int?> OptionalPositiveInt(string name, string helpName, string description) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => ParsePositiveInt(r),
    };

    public static Option<double> PositiveNumber(string name, string helpName, string description, double defaultValue) => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => double.TryParse(Value(r), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && double.IsFinite(n)
            ? n : Fail(r, $"{Name(r)} wants a positive number, not '{Value(r)}'", 0.0),
    };

    /// <summary>A file to write; its folder must exist, so that a long run does not end failing to save its figures.</summary>
    public static Option<string> OutputFile(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "PATH",
        CustomParser = r => Value(r) is { Length: > 0 } v && Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(v))) && !Directory.Exists(v)
            ? v : Fail(r, $"{Name(r)} wants a file in a folder that exists, not '{Value(r)}'", ""),
    };

    /// <summary>One of <paramref name="values"/>; the help shows them as the value's name.</summary>
    public static Option<string> OneOf(string name, string description, IReadOnlyList<string> values, string? defaultValue = null)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            HelpName = string.Join('|', values),
            CustomParser = r => values.Contains(Value(r)) ? Value(r) : Fail(r, $"{Name(r)} wants {Choices(values)}, not '{Value(r)}'", ""),
        };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.CompletionSources.Add(values.ToArray());
        return option;
    }

    /// <summary>
    /// <c>--ready-when SPAN_NAME</c>: the workload span whose first end is "app ready". A name the relay's bounds
    /// would cut could never match, so it is refused here, as is an empty one.
    /// </summary>
    public static Option<string> ReadyWhen() => new("--ready-when")
    {
        Description = "time \"boot to app ready\": the end of the first span of the container's own app with this name (see docs/workload-telemetry.md)",
        HelpName = "SPAN_NAME",
        CustomParser = r => Value(r) is { Length: > 0 } v && v.Length <= RelayBounds.Default.MaxNameLength && !v.Any(char.IsControl)
            ? v : Fail(r, $"{Name(r)} wants a span name of 1 to {RelayBounds.Default.MaxNameLength} printable characters, not '{Value(r)}'", ""),
    };

    /// <summary>The option's value, or a parse error naming the option, the value and what <paramref name="problem"/> finds wrong.</summary>
    public static string Checked(ArgumentResult r, Func<string, string?> problem) =>
        problem(Value(r)) is { } why ? Fail(r, $"{Name(r)} {why}, not '{Value(r)}'", "") : Value(r);

    private static int ParsePositiveInt(ArgumentResult r) =>
        int.TryParse(Value(r), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : Fail(r, $"{Name(r)} wants a positive whole number, not '{Value(r)}'", 0);

    private static string Value(ArgumentResult r) => r.Tokens[^1].Value;

    private static string Name(ArgumentResult r) => r.Parent is OptionResult o ? o.Option.Name : r.Argument.Name;

    private static T Fail<T>(ArgumentResult r, string message, T placeholder)
    {
        r.AddError(message);
        return placeholder;
    }

    private static string Choices(IReadOnlyList<string> values) =>
        values.Count == 1 ? values[0] : string.Join(", ", values.Take(values.Count - 1)) + " or " + values[^1];
}
