using System.Globalization;
using Nerdbox.Telemetry.Tracing;

namespace Nerdbox.Engine.Boot;

/// <summary>A stretch of the guest kernel's boot, on the guest's boot clock, with the stretches inside it.</summary>
public sealed record KernelPhase(string Name, long StartNs, long EndNs, IReadOnlyList<KernelPhase> Children)
{
    public IReadOnlyDictionary<string, object> Attributes { get; init; } = new Dictionary<string, object>();
}

/// <summary>
/// Turns the kernel's own log into the phases of its boot, from kernel start to the agent's first
/// instruction:
/// <list type="bullet">
/// <item><c>kernel.StartKernel</c>: start_kernel (architecture, memory, scheduler, console set-up) until the early initcalls run.</item>
/// <item><c>kernel.Initcalls</c>, with one child per initcall level (<c>kernel.Initcalls.core</c>, ...), each from its level's
/// start to the next one's; the early level also holds SMP bring-up and the driver core's set-up, which run between it and the next.</item>
/// <item><c>kernel.InitramfsUnpack</c>: the initramfs unpacked (asynchronously, beside the initcalls). On a guest with one
/// CPU it runs only when what is beside it yields that CPU, so the levels and initcalls it overlaps are longer by its work:
/// each says how much of it ran beside the unpack (<see cref="SharedCpuAttributes"/>).</item>
/// <item><c>kernel.FreeInitMemory</c>: init memory freed and kernel text write-protected.</item>
/// <item><c>kernel.ExecInit</c>: /init exec'd until the agent's code runs.</item>
/// </list>
/// Level boundaries come from the <c>initcall:initcall_level</c> trace event printed to the log
/// (<see cref="LevelTraceArgs"/>); with <c>initcall_debug</c> (<see cref="InitcallDebugArgs"/>) each
/// initcall above a threshold becomes a span of its own (<c>kernel.Initcall.FUNCTION</c>).
/// </summary>
public static class KernelBootPhases
{
    /// <summary>A level's span is this and the level's name; the levels are a fixed set.</summary>
    public const string LevelSpanPrefix = "kernel.Initcalls.";

    /// <summary>An initcall's span is this and its function's name: one of the kernel's own initcalls, a bounded set.</summary>
    public const string InitcallSpanPrefix = "kernel.Initcall.";

    /// <summary>Kernel command-line words that print each initcall level's start to the log: ten lines, no measurable cost.</summary>
    public static readonly string[] LevelTraceArgs = ["trace_event=initcall:initcall_level", "tp_printk"];

    /// <summary>Every initcall's start and duration in the log; the buffer is enlarged so that none is lost.</summary>
    public static readonly string[] InitcallDebugArgs = ["initcall_debug", "log_buf_len=4M"];

    private static readonly HashSet<string> Levels = ["early", "pure", "core", "postcore", "arch", "subsys", "fs", "device", "late"];

    /// <summary>One initcall as initcall_debug reports it.</summary>
    public sealed record Initcall(string Function, long StartNs, long DurationNs);

    /// <summary>
    /// The phases from the log, ending at <paramref name="initStartedNs"/> (the agent's start on the boot
    /// clock); null when the log does not reach /init (it was cut, or the kernel never got there).
    /// Initcalls of at least <paramref name="initcallThreshold"/> become spans when the log has them.
    /// </summary>
    public static KernelPhase? From(IReadOnlyList<KernelLogRecord> records, long initStartedNs, TimeSpan initcallThreshold)
    {
        var run = records.FirstOrDefault(r => r.Message.StartsWith("Run ", StringComparison.Ordinal) && r.Message.EndsWith(" as init process", StringComparison.Ordinal));
        if (run is null || initStartedNs <= 0) return null;
        var end = Math.Max(initStartedNs, run.TimeNs);
        long Clamp(long t) => Math.Clamp(t, 0, run.TimeNs);

        // Level starts, in order; a level printed twice or out of order is not trusted.
        var levels = new List<(string Name, long At)>();
        foreach (var r in records.TakeWhile(r => r != run))
        {
            if (!r.Message.StartsWith("initcall_level: level=", StringComparison.Ordinal)) continue;
            var name = r.Message["initcall_level: level=".Length..].Trim();
            if (!Levels.Contains(name) || levels.Any(l => l.Name == name) || levels.Count > 0 && r.TimeNs < levels[^1].At) continue;
            levels.Add((name, Clamp(r.TimeNs)));
        }
        var freeing = records.SkipWhile(r => levels.Count > 0 && r.TimeNs < levels[^1].At).TakeWhile(r => r != run)
            .FirstOrDefault(r => r.Message.StartsWith("Freeing unused", StringComparison.Ordinal))?.TimeNs ?? run.TimeNs;
        freeing = Clamp(freeing);
        var initcalls = InitcallsOf(records.TakeWhile(r => r != run));
        var spanned = Spanned(initcalls, initcallThreshold);

        var unpack = Unpack(records, run) is { } u ? u with { StartNs = Clamp(u.StartNs), EndNs = Clamp(u.EndNs) } : null;
        var children = new List<KernelPhase>();
        var initcallsStart = levels.Count > 0 ? levels[0].At : freeing;
        children.Add(new KernelPhase("kernel.StartKernel", 0, initcallsStart, Spans(spanned, 0, initcallsStart)));
        if (levels.Count > 0)
        {
            var levelPhases = new List<KernelPhase>();
            for (var i = 0; i < levels.Count; i++)
            {
                var (name, at) = levels[i];
                var next = i + 1 < levels.Count ? levels[i + 1].At : freeing;
                levelPhases.Add(new KernelPhase(LevelSpanPrefix + name, at, Math.Max(at, next), Spans(spanned, at, next)));
            }
            if (unpack is not null) levelPhases.Add(unpack);
            children.Add(new KernelPhase("kernel.Initcalls", initcallsStart, Math.Max(initcallsStart, freeing), levelPhases));
        }
        else if (unpack is not null)
        {
            children.Add(unpack);
        }
        children.Add(new KernelPhase("kernel.FreeInitMemory", freeing, run.TimeNs, []));
        children.Add(new KernelPhase("kernel.ExecInit", run.TimeNs, end, []));

        // With one CPU the unpack is not beside the boot but inside whatever it overlaps: say so on each.
        var unpacked = OneCpu(records) ? unpack : null;
        if (unpacked is not null) children = children.Select(c => MarkShared(c, unpacked)).ToList();

        var attributes = new Dictionary<string, object> { ["nerdbox.kernel.log_records"] = (long)records.Count };
        if (initcalls.Count > 0)
        {
            attributes["nerdbox.kernel.initcalls"] = (long)initcalls.Count;
            attributes["nerdbox.kernel.slowest_initcalls"] = Slowest(initcalls, 10).Select(c => Describe(c, unpacked)).ToArray();
        }
        return new KernelPhase("kernel.Boot", 0, end, children) { Attributes = attributes };
    }

    private static string Describe(Initcall c, KernelPhase? unpack)
    {
        var text = $"{c.Function} {c.DurationNs / 1e6:0.###} ms";
        var shared = unpack is null ? 0 : Overlap(c.StartNs, c.StartNs + c.DurationNs, unpack);
        return shared > 0 ? text + $" ({shared / 1e6:0.###} ms of it beside the initramfs unpack on the one CPU)" : text;
    }

    /// <summary>Whether the log says the kernel brought up exactly one CPU ("smp: Brought up 1 node, 1 CPU").</summary>
    public static bool OneCpu(IEnumerable<KernelLogRecord> records)
    {
        var line = records.FirstOrDefault(r => r.Message.StartsWith("smp: Brought up ", StringComparison.Ordinal))?.Message;
        return line is not null && line.EndsWith(", 1 CPU", StringComparison.Ordinal);
    }

    // Every stretch but the unpack and the ones that hold it whole (kernel.Initcalls) gets the time it shared, if any.
    private static KernelPhase MarkShared(KernelPhase phase, KernelPhase unpack)
    {
        if (phase.Name == UnpackSpanName) return phase;
        var marked = phase with { Children = phase.Children.Select(c => MarkShared(c, unpack)).ToList() };
        var shared = Overlap(phase.StartNs, phase.EndNs, unpack);
        if (shared <= 0 || phase.Children.Any(c => c.Name == UnpackSpanName)) return marked;
        return marked with
        {
            Attributes = new Dictionary<string, object>(phase.Attributes)
            {
                [SharedCpuAttributes.With] = UnpackSpanName,
                [SharedCpuAttributes.Ms] = Math.Round(shared / 1e6, 3),
            },
        };
    }

    private static long Overlap(long start, long end, KernelPhase other) =>
        Math.Max(0, Math.Min(end, other.EndNs) - Math.Max(start, other.StartNs));

    /// <summary>The <paramref name="count"/> slowest initcalls, slowest first.</summary>
    public static IReadOnlyList<Initcall> Slowest(IEnumerable<Initcall> initcalls, int count) =>
        initcalls.OrderByDescending(c => c.DurationNs).ThenBy(c => c.StartNs).Take(count).ToList();

    /// <summary>Initcalls from initcall_debug's "calling  fn+0x0/0x10 @ 1" and "initcall fn+0x0/0x10 returned 0 after 12 usecs".</summary>
    public static IReadOnlyList<Initcall> InitcallsOf(IEnumerable<KernelLogRecord> records)
    {
        var started = new Dictionary<string, long>(StringComparer.Ordinal);
        var calls = new List<Initcall>();
        foreach (var r in records)
        {
            var m = r.Message;
            if (m.StartsWith("calling ", StringComparison.Ordinal))
            {
                if (Function(m["calling ".Length..]) is { } fn) started[fn] = r.TimeNs;
            }
            else if (m.StartsWith("initcall ", StringComparison.Ordinal) && m.EndsWith(" usecs", StringComparison.Ordinal))
            {
                var fn = Function(m["initcall ".Length..]);
                var after = m.LastIndexOf(" after ", StringComparison.Ordinal);
                if (fn is null || after < 0 || !started.Remove(fn, out var start)) continue;
                // " after usecs" has no digits: the two words share their space, and the count would be negative.
                var digits = m.Length - after - " after ".Length - " usecs".Length;
                if (digits <= 0 || !long.TryParse(m.AsSpan(after + 7, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var usecs)) continue;
                calls.Add(new Initcall(fn, start, Math.Min(usecs, 3_600_000_000L) * 1000));
            }
        }
        return calls;
    }

    // "fn+0x0/0x22c @ 1" or "fn+0x0/0x22c returned 0 after 12 usecs": the name before '+'.
    private static string? Function(string text)
    {
        var s = text.TrimStart();
        var plus = s.IndexOf('+');
        return plus is > 0 and <= 128 ? s[..plus] : null;
    }

    /// <summary>At most this many initcalls become spans, the slowest: the log is the guest's, and its length is not trusted.</summary>
    public const int MaxInitcallSpans = 200;

    // The slowest initcalls of at least the threshold, the span budget's worth, then those of one stretch.
    private static IReadOnlyList<Initcall> Spanned(IReadOnlyList<Initcall> initcalls, TimeSpan threshold) =>
        Slowest(initcalls.Where(c => c.DurationNs >= threshold.Ticks * 100), MaxInitcallSpans).OrderBy(c => c.StartNs).ToList();

    private static List<KernelPhase> Spans(IReadOnlyList<Initcall> spanned, long from, long to) =>
        spanned.Where(c => c.StartNs >= from && c.StartNs < to)
            .Select(c => new KernelPhase(InitcallSpanPrefix + c.Function, c.StartNs, Math.Min(c.StartNs + c.DurationNs, to), []))
            .ToList();

    private const string UnpackSpanName = "kernel.InitramfsUnpack";

    private static KernelPhase? Unpack(IReadOnlyList<KernelLogRecord> records, KernelLogRecord run)
    {
        var start = records.TakeWhile(r => r != run).FirstOrDefault(r => r.Message.StartsWith("Trying to unpack rootfs image as initramfs", StringComparison.Ordinal));
        if (start is null) return null;
        var done = records.SkipWhile(r => r != start).TakeWhile(r => r != run)
            .FirstOrDefault(r => r.Message.StartsWith("Freeing initrd memory", StringComparison.Ordinal));
        return done is null ? null : new KernelPhase(UnpackSpanName, start.TimeNs, Math.Max(start.TimeNs, done.TimeNs), []);
    }
}
