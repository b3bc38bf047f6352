namespace Nerdbox.Shim.Cli;

/// <summary>Minimal argument reading for the shim's verbs: positionals, <c>--name value</c> options and flags.</summary>
public sealed class CliArgs
{
    private readonly List<string> _positional = new();
    private readonly Dictionary<string, string?> _options = new();

    public CliArgs(IEnumerable<string> args, params string[] flags)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = a.IndexOf('=');
                if (eq > 0) _options[a[2..eq]] = a[(eq + 1)..];
                else if (flags.Contains(a[2..]) || i + 1 >= list.Count) _options[a[2..]] = null;
                else _options[a[2..]] = list[++i];
            }
            else _positional.Add(a);
        }
    }

    public IReadOnlyList<string> Positional => _positional;
    public bool Has(string name) => _options.ContainsKey(name);
    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v : null;
    public string Get(string name, string fallback) => Get(name) ?? fallback;

    public int GetInt(string name, int fallback) =>
        Get(name) is { } v ? int.TryParse(v, out var n) && n > 0 ? n : throw new ArgumentException($"--{name} wants a positive whole number, not '{v}'") : fallback;

    public double GetSeconds(string name, double fallback) =>
        Get(name) is { } v ? double.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"--{name} wants seconds, not '{v}'") : fallback;
}
