using System.Text;
using Nerdbox.Telemetry.Tracing;

namespace Nerdbox.Tests.Tracing;

/// <summary>The host reads the guest kernel's log into boot phases; the log comes from the untrusted guest.</summary>
public sealed class KernelLogBecomesPhases
{
    private static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "kernel", name));

    private static long Ns(double seconds) => (long)Math.Round(seconds * 1e9);

    /// <summary>A phase and every phase under it.</summary>
    private static IEnumerable<KernelPhase> All(KernelPhase p) => p.Children.SelectMany(All).Prepend(p);

    [Fact]
    public void A_real_log_with_level_marks_gives_every_phase_in_order()
    {
        var records = KernelLog.Parse(Fixture("levels.log"));
        var run = records.Single(r => r.Message.StartsWith("Run ", StringComparison.Ordinal));
        var initStarted = run.TimeNs + Ns(0.05);

        var kernel = KernelBootPhases.From(records, initStarted, TimeSpan.FromMilliseconds(1))!;

        Assert.Equal("kernel.Boot", kernel.Name);
        Assert.Equal(0, kernel.StartNs);
        Assert.Equal(initStarted, kernel.EndNs);
        var names = kernel.Children.Select(c => c.Name).ToList();
        Assert.Equal(["kernel.StartKernel", "kernel.Initcalls", "kernel.FreeInitMemory", "kernel.ExecInit"], names);
        var initcalls = kernel.Children[1];
        Assert.Equal(["early", "pure", "core", "postcore", "arch", "subsys", "fs", "device", "late", "InitramfsUnpack"],
            initcalls.Children.Select(c => c.Name.Replace(KernelBootPhases.LevelSpanPrefix, "").Replace("kernel.", "")));
        // Phases touch end to start, and the levels tile the initcalls.
        for (var i = 1; i < kernel.Children.Count; i++) Assert.Equal(kernel.Children[i - 1].EndNs, kernel.Children[i].StartNs);
        var levels = initcalls.Children.Where(c => c.Name.StartsWith(KernelBootPhases.LevelSpanPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(initcalls.StartNs, levels[0].StartNs);
        Assert.Equal(initcalls.EndNs, levels[^1].EndNs);
        Assert.All(levels.Zip(levels.Skip(1)), p => Assert.Equal(p.First.EndNs, p.Second.StartNs));
        // The unpack runs beside the levels, inside the initcalls.
        var unpack = initcalls.Children.Single(c => c.Name == "kernel.InitramfsUnpack");
        Assert.InRange(unpack.StartNs, initcalls.StartNs, unpack.EndNs);
        Assert.InRange(unpack.EndNs, unpack.StartNs, initcalls.EndNs);
        Assert.Equal(run.TimeNs, kernel.Children[3].StartNs);
        Assert.False(kernel.Attributes.ContainsKey("nerdbox.kernel.slowest_initcalls"));
    }

    [Fact]
    public void With_initcall_debug_the_slow_initcalls_become_spans_and_the_slowest_are_listed()
    {
        var records = KernelLog.Parse(Fixture("initcall-debug.log"));
        var run = records.Single(r => r.Message.StartsWith("Run ", StringComparison.Ordinal));
        var calls = KernelBootPhases.InitcallsOf(records);
        Assert.True(calls.Count > 500, $"{calls.Count} initcalls read");

        var kernel = KernelBootPhases.From(records, run.TimeNs + Ns(0.01), TimeSpan.FromMilliseconds(5))!;

        var spans = All(kernel).Where(p => p.Name.StartsWith(KernelBootPhases.InitcallSpanPrefix, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(spans);
        Assert.Equal(calls.Count(c => c.DurationNs >= Ns(0.005)), spans.Count);
        var slowest = Assert.IsType<string[]>(kernel.Attributes["nerdbox.kernel.slowest_initcalls"]);
        Assert.Equal(10, slowest.Length);
        Assert.StartsWith(KernelBootPhases.Slowest(calls, 1)[0].Function + " ", slowest[0]);
    }

    [Fact]
    public void On_one_CPU_what_ran_beside_the_initramfs_unpack_says_how_much_of_it_the_unpack_took()
    {
        // A real log of a one-CPU guest: crypto_kdf108_init (163 ms) waited while the unpack had the CPU.
        var records = KernelLog.Parse(Fixture("initcall-debug.log"));
        var run = records.Single(r => r.Message.StartsWith("Run ", StringComparison.Ordinal));
        Assert.True(KernelBootPhases.OneCpu(records));

        var kernel = KernelBootPhases.From(records, run.TimeNs + Ns(0.01), TimeSpan.FromMilliseconds(5))!;

        var unpack = All(kernel).Single(p => p.Name == "kernel.InitramfsUnpack");
        var kdf = All(kernel).Single(p => p.Name == "kernel.Initcall.crypto_kdf108_init");
        Assert.Equal("kernel.InitramfsUnpack", kdf.Attributes[SharedCpuAttributes.With]);
        // The unpack ran 0.693970-0.891512; the initcall 0.757342 on: 134.170 ms of it overlap.
        Assert.Equal(134.170, (double)kdf.Attributes[SharedCpuAttributes.Ms], 3);
        // Every span that overlaps the unpack says so, with the overlap it had; none other does.
        foreach (var phase in All(kernel).Where(p => p != unpack && p.Name != "kernel.Boot" && p.Name != "kernel.Initcalls"))
        {
            var overlap = Math.Max(0, Math.Min(phase.EndNs, unpack.EndNs) - Math.Max(phase.StartNs, unpack.StartNs));
            if (overlap > 0) Assert.Equal(overlap / 1e6, (double)phase.Attributes[SharedCpuAttributes.Ms], 3);
            else Assert.False(phase.Attributes.ContainsKey(SharedCpuAttributes.Ms), phase.Name);
        }
        Assert.False(unpack.Attributes.ContainsKey(SharedCpuAttributes.Ms));
        Assert.False(kernel.Children.Single(c => c.Name == "kernel.Initcalls").Attributes.ContainsKey(SharedCpuAttributes.Ms));
        // The slowest initcalls say it too, so that none is blamed for the unpack's work.
        var slowest = Assert.IsType<string[]>(kernel.Attributes["nerdbox.kernel.slowest_initcalls"]);
        Assert.Contains("crypto_kdf108_init 163.312 ms (134.17 ms of it beside the initramfs unpack on the one CPU)", slowest);
    }

    [Fact]
    public void With_more_than_one_CPU_the_unpack_runs_beside_the_boot_and_nothing_is_marked()
    {
        var text = Encoding.UTF8.GetString(Fixture("initcall-debug.log")).Replace("smp: Brought up 1 node, 1 CPU", "smp: Brought up 1 node, 2 CPUs");
        var records = KernelLog.Parse(Encoding.UTF8.GetBytes(text));
        var run = records.Single(r => r.Message.StartsWith("Run ", StringComparison.Ordinal));
        Assert.False(KernelBootPhases.OneCpu(records));

        var kernel = KernelBootPhases.From(records, run.TimeNs + Ns(0.01), TimeSpan.FromMilliseconds(5))!;

        Assert.All(All(kernel), p => Assert.False(p.Attributes.ContainsKey(SharedCpuAttributes.With), p.Name));
        var slowest = Assert.IsType<string[]>(kernel.Attributes["nerdbox.kernel.slowest_initcalls"]);
        Assert.Contains("crypto_kdf108_init 163.312 ms", slowest);
    }

    [Fact]
    public void However_many_initcalls_the_log_claims_only_the_slowest_of_the_span_budget_become_spans()
    {
        var sb = new StringBuilder("<6>[    0.000000] Linux version 6.1\n<6>[    0.000001] initcall_level: level=early\n");
        for (var i = 0; i < 5000; i++)
        {
            var at = 0.000002 + i * 0.000010;
            sb.Append(FormattableString.Invariant($"<7>[{at,12:0.000000}] calling  fake{i}+0x0/0x10 @ 1\n"));
            sb.Append(FormattableString.Invariant($"<7>[{at + 0.000001,12:0.000000}] initcall fake{i}+0x0/0x10 returned 0 after {2000 + i} usecs\n"));
        }
        sb.Append("<6>[    0.900000] Run /init as init process\n");
        var records = KernelLog.Parse(Encoding.UTF8.GetBytes(sb.ToString()));

        var kernel = KernelBootPhases.From(records, Ns(1), TimeSpan.FromMilliseconds(1))!;

        var spans = All(kernel).Where(p => p.Name.StartsWith("kernel.Initcall.", StringComparison.Ordinal)).ToList();
        Assert.Equal(KernelBootPhases.MaxInitcallSpans, spans.Count);
        // The slowest are the ones kept.
        Assert.Contains(spans, s => s.Name.EndsWith(".fake4999", StringComparison.Ordinal));
        Assert.DoesNotContain(spans, s => s.Name.EndsWith(".fake0", StringComparison.Ordinal));
    }

    [Fact]
    public void A_log_that_does_not_reach_init_gives_no_phases()
    {
        var records = KernelLog.Parse(Encoding.UTF8.GetBytes("<6>[    0.000000] Linux version 6.1\n<6>[    0.500000] initcall_level: level=early\n"));

        Assert.Equal(2, records.Count);
        Assert.Null(KernelBootPhases.From(records, Ns(1), TimeSpan.FromMilliseconds(1)));
    }

    [Theory]
    [InlineData("no timestamp at all")]
    [InlineData("<6>[    0.12] too few digits")]
    [InlineData("<6>[abc.defghi] letters")]
    [InlineData("<6>[-1.000000] negative")]
    [InlineData("<123456>[    0.000001] long priority")]
    [InlineData("[99999999999.000000] far in the future")]
    [InlineData("[    0.000001 unclosed")]
    [InlineData("")]
    public void Lines_that_are_not_records_are_skipped(string line)
    {
        Assert.False(KernelLog.TryParseLine(line, out _));
    }

    [Fact]
    public void Hostile_logs_are_bounded_and_do_not_confuse_the_phases()
    {
        var sb = new StringBuilder();
        sb.Append("<6>[    0.000000] ").Append('x', 100_000).Append('\n');
        // Levels out of order or repeated, and an unknown level, are not trusted.
        sb.Append("<6>[    0.300000] initcall_level: level=core\n");
        sb.Append("<6>[    0.200000] initcall_level: level=early\n");
        sb.Append("<6>[    0.400000] initcall_level: level=core\n");
        sb.Append("<6>[    0.500000] initcall_level: level=bogus\n");
        sb.Append("<6>[    0.600000] initcall ghost+0x0/0x1 returned 0 after 99999999999999 usecs\n");
        sb.Append("<6>[    0.700000] Run /init as init process\n");
        for (var i = 0; i < KernelLog.MaxRecords + 10; i++) sb.Append("<6>[    0.800000] noise\n");

        var records = KernelLog.Parse(Encoding.UTF8.GetBytes(sb.ToString()));
        Assert.Equal(KernelLog.MaxRecords, records.Count);
        Assert.Equal(KernelLog.MaxMessageLength, records[0].Message.Length);

        var kernel = KernelBootPhases.From(records, Ns(0.75), TimeSpan.FromMilliseconds(1))!;
        var levels = kernel.Children.Single(c => c.Name == "kernel.Initcalls").Children.Select(c => c.Name).ToList();
        Assert.Equal(["kernel.Initcalls.core"], levels);
        Assert.All(kernel.Children, c => Assert.InRange(c.EndNs, c.StartNs, kernel.EndNs));
        Assert.Empty(KernelBootPhases.InitcallsOf(records));
    }
}
