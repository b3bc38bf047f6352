using System.Globalization;
using System.Text;

namespace Nerdbox.Engine.Boot;

/// <summary>One kernel log record: when it was written (ns on the guest's boot clock) and what it says.</summary>
public sealed record KernelLogRecord(long TimeNs, string Message);

/// <summary>
/// Reads the kernel log as the guest hands it over (<c>&lt;6&gt;[    0.123456] message</c> a line, the
/// syslog(2) format). The guest is untrusted: lines without a timestamp are skipped, and the record
/// count and line length are bounded.
/// </summary>
public static class KernelLog
{
    public const int MaxRecords = 50_000;
    public const int MaxMessageLength = 512;

    public static IReadOnlyList<KernelLogRecord> Parse(ReadOnlySpan<byte> text)
    {
        var records = new List<KernelLogRecord>();
        foreach (var raw in Encoding.UTF8.GetString(text).Split('\n'))
        {
            if (records.Count >= MaxRecords) break;
            if (TryParseLine(raw, out var record)) records.Add(record);
        }
        return records;
    }

    /// <summary>Reads <c>&lt;PRI&gt;[SECONDS.MICROS] MESSAGE</c>; the priority is optional.</summary>
    public static bool TryParseLine(string line, out KernelLogRecord record)
    {
        record = null!;
        var s = line.AsSpan().TrimEnd('\r');
        if (s.StartsWith("<"))
        {
            var close = s.IndexOf('>');
            if (close < 0 || close > 4) return false;
            s = s[(close + 1)..];
        }
        if (!s.StartsWith("[")) return false;
        var end = s.IndexOf(']');
        if (end < 0 || end > 20) return false;
        var stamp = s[1..end].Trim();
        var dot = stamp.IndexOf('.');
        if (dot < 0 || stamp.Length - dot - 1 != 6
            || !long.TryParse(stamp[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || !long.TryParse(stamp[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
            || seconds > 1_000_000)
            return false;
        var message = s[(end + 1)..].TrimStart(' ');
        if (message.Length > MaxMessageLength) message = message[..MaxMessageLength];
        record = new KernelLogRecord(seconds * 1_000_000_000 + micros * 1000, message.ToString());
        return true;
    }
}
