using System.Globalization;
using System.Text;

namespace Nerdbox.Engine.Vm;

/// <summary>
/// Why a guest stopped by itself, as its console tells it: the guest agent (the VM's init) died, which
/// the kernel reports as the panic "Attempted to kill init!", or the kernel panicked for another reason.
/// The console is the guest's word: the reason is cut to a line of printable text.
/// </summary>
public static class GuestStop
{
    private const string PanicMarker = "Kernel panic - not syncing: ";
    private const string InitDied = "Attempted to kill init!";
    private const int MaxReasonChars = 200;

    /// <summary>How much of the console's end is read: a panic's line comes before its stack dump.</summary>
    private const int ReadBytes = 64 * 1024;

    /// <summary>The cause named by the console log at <paramref name="consoleLogPath"/>, or null when it names none.</summary>
    public static string? FromConsole(string consoleLogPath)
    {
        try
        {
            if (!File.Exists(consoleLogPath)) return null;
            using var fs = new FileStream(consoleLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            fs.Seek(Math.Max(0, fs.Length - ReadBytes), SeekOrigin.Begin);
            return FromConsoleText(new StreamReader(fs, Encoding.UTF8).ReadToEnd());
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The cause named by the last kernel panic in <paramref name="console"/>, or null when there is none.</summary>
    public static string? FromConsoleText(string console)
    {
        var at = console.LastIndexOf(PanicMarker, StringComparison.Ordinal);
        if (at < 0) return null;
        var end = console.IndexOfAny(['\n', '\r'], at);
        var reason = Printable(console[(at + PanicMarker.Length)..(end < 0 ? console.Length : end)]);
        if (!reason.StartsWith(InitDied, StringComparison.Ordinal)) return $"the guest kernel panicked: {reason}";
        var how = ExitCode(reason) is { } code ? DescribeExit(code) : "it ended";
        return $"the guest agent (init) died: {how} (kernel: {reason})";
    }

    /// <summary>The <c>exitcode=0x...</c> the kernel gives with "Attempted to kill init!".</summary>
    private static int? ExitCode(string reason)
    {
        var at = reason.IndexOf("exitcode=0x", StringComparison.Ordinal);
        if (at < 0) return null;
        var hex = new string(reason[(at + "exitcode=0x".Length)..].TakeWhile(Uri.IsHexDigit).Take(8).ToArray());
        return int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code) ? code : null;
    }

    /// <summary>A wait status: the low seven bits are the signal that ended the process, else the high byte is its exit status.</summary>
    internal static string DescribeExit(int status)
    {
        var signal = status & 0x7f;
        if (signal == 0) return $"it exited with status {(status >> 8) & 0xff}";
        var core = (status & 0x80) != 0 ? ", core dumped" : "";
        return $"it was killed by signal {signal}{(SignalNames.TryGetValue(signal, out var name) ? $" ({name})" : "")}{core}";
    }

    private static readonly Dictionary<int, string> SignalNames = new()
    {
        [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP", [6] = "SIGABRT", [7] = "SIGBUS",
        [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1", [11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE",
        [14] = "SIGALRM", [15] = "SIGTERM", [31] = "SIGSYS",
    };

    private static string Printable(string text)
    {
        var clean = new string(text.Where(c => !char.IsControl(c)).Take(MaxReasonChars).ToArray()).Trim();
        return clean.EndsWith("]---", StringComparison.Ordinal) ? clean[..^4].TrimEnd() : clean;
    }
}
