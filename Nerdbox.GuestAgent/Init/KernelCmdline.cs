namespace Nerdbox.GuestAgent.Init;

/// <summary>The kernel command line, split into words; the shim passes the agent's settings as <c>nerdbox.*=</c> words.</summary>
internal sealed class KernelCmdline
{
    private readonly string[] _words;

    public KernelCmdline(string text) => _words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    public static KernelCmdline Read()
    {
        try { return new KernelCmdline(File.ReadAllText("/proc/cmdline")); }
        catch (IOException) { return new KernelCmdline(""); }
    }

    public string? Get(string key)
    {
        var prefix = key + "=";
        foreach (var w in _words)
            if (w.StartsWith(prefix, StringComparison.Ordinal)) return w[prefix.Length..];
        return null;
    }

    /// <summary>Parameters meant for a module (<c>module.param=value</c>), as finit_module expects them.</summary>
    public string ModuleParameters(string module)
    {
        var prefix = module.Replace('-', '_') + ".";
        return string.Join(' ', _words.Where(w => w.Replace('-', '_').StartsWith(prefix, StringComparison.Ordinal) && w.Contains('='))
            .Select(w => w[prefix.Length..]));
    }
}
