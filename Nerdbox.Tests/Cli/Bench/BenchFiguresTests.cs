using System.Text.Json;
using Nerdbox.Engine.Boot;
using Nerdbox.Shim.Cli.Bench;

namespace Nerdbox.Tests.Cli.Bench;

/// <summary>What the boot benchmarks make of their boots: per-phase figures, the compare table and the JSON file, without booting.</summary>
public sealed class BenchFiguresTests
{
    private static readonly DateTime T0 = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>A boot whose every phase took <paramref name="ms"/> milliseconds.</summary>
    private static BootPhases Boot(double ms)
    {
        var at = T0;
        DateTime Next() => at = at.AddMilliseconds(ms);
        var p = new BootPhases { VmmSpawned = at };
        p.VmmReady = Next();
        p.KernelStarted = Next();
        p.InitStarted = Next();
        p.AgentListening = Next();
        p.FirstReply = Next();
        p.ContainerStarted = Next();
        p.FirstOutput = Next();
        p.VmmCpuToOutput = TimeSpan.FromMilliseconds(ms * 3);
        p.VmmSystemCpuToOutput = TimeSpan.FromMilliseconds(ms / 2);
        p.VmmAnonMibAtOutput = ms * 2;
        return p;
    }

    private static BenchSide Side(string kernelArg, params double[] phaseMs) =>
        BenchSide.Of(new BenchVm("qemu", "test", "tcg", 1, 512, kernelArg.Length == 0 ? [] : [kernelArg]), 0, [.. phaseMs.Select(Boot)], appReady: false);

    [Fact]
    public void Each_phase_has_its_samples_median_and_p90()
    {
        var figures = PhaseFigures.From([Boot(10), Boot(30), Boot(20)]);

        Assert.Equal(PhaseFigures.Names, figures.Select(f => f.Name));
        Assert.Equal(10, figures.Count);
        var spawn = figures[0];
        Assert.Equal([10.0, 30.0, 20.0], spawn.SamplesMs);
        Assert.Equal(20, spawn.MedianMs);
        Assert.Equal(30, spawn.P90Ms);
        Assert.Equal([70.0, 210.0, 140.0], figures.Single(f => f.Name == PhaseFigures.BootToOutput).SamplesMs);
        Assert.Equal([30.0, 90.0, 60.0], figures.Single(f => f.Name == PhaseFigures.VmmCpuToOutput).SamplesMs);
        Assert.Equal([5.0, 15.0, 10.0], figures[^1].SamplesMs);
    }

    [Fact]
    public void A_boot_that_did_not_reach_a_phase_is_left_out_of_it()
    {
        var partial = Boot(50);
        partial.KernelStarted = null;

        var figures = PhaseFigures.From([Boot(10), partial]);

        Assert.Equal([10.0], figures.Single(f => f.Name == "kernel to /init").SamplesMs);
        Assert.Equal(2, figures.Single(f => f.Name == PhaseFigures.BootToOutput).SamplesMs.Count);
        Assert.Null(PhaseFigures.From([])[0].MedianMs);
    }

    [Fact]
    public void The_compare_table_has_every_phase_with_a_delta_and_a_mark_and_says_what_the_mark_means()
    {
        var a = Side("", 100, 101, 102, 103, 104, 105, 106, 107);
        var b = Side("mitigations=off", 90, 91, 92, 93, 94, 95, 96, 97);

        var text = CompareTable.Render(8, a, b, PhaseComparison.Of(a, b));

        Assert.Contains("B: qemu (tcg), 1 CPU, 512 MiB, kernel args: mitigations=off", text);
        foreach (var name in PhaseFigures.Names)
        {
            var row = Assert.Single(text.Split('\n'), l => l.StartsWith(name + " ", StringComparison.Ordinal));
            Assert.Matches(@"\s[+-]\d+\.\d\s+[+-]\d+\.\d%\s+\d\.\d{3} (\*\*|\*|~)$", row);
        }
        // VMM start: A's median 103.5, B's 93.5; the samples are fully separated.
        Assert.EndsWith("-10.0    -9.7%    0.000 **", text.Split('\n').Single(l => l.StartsWith("VMM start")));
        // The VMM's memory, in the same columns: A's median 207 MiB, B's 187.
        Assert.EndsWith("-20.0    -9.7%    0.000 **", text.Split('\n').Single(l => l.StartsWith(MemoryFigures.Name + " ")));
        Assert.Contains(MemoryFigures.Note, text);
        Assert.Contains(RankTest.Legend, text);
        Assert.DoesNotContain("no difference can reach", text);
    }

    [Fact]
    public void Too_few_boots_are_said_to_be_unable_to_show_a_difference()
    {
        var a = Side("", 100, 101);
        var b = Side("", 90, 91);

        var text = CompareTable.Render(2, a, b, PhaseComparison.Of(a, b));

        Assert.Contains("no difference can reach p<0.05", text);
        Assert.All(PhaseComparison.Of(a, b), r => Assert.Equal("~", r.Mark));
    }

    [Fact]
    public void Compare_json_has_both_sides_the_deltas_p_values_configuration_and_machine()
    {
        var a = Side("", 100, 102, 104);
        var b = Side("mitigations=off", 90, 91, 95);
        var host = new BenchHost(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero), "bench-box", "Some CPU", 2, "Linux");

        using var doc = JsonDocument.Parse(BenchJson.Serialize(new CompareBenchReport(host, 3, a, b, PhaseComparison.Of(a, b))));
        var root = doc.RootElement;

        Assert.Equal("compare", root.GetProperty("bench").GetString());
        Assert.Equal("bench-box", root.GetProperty("host").GetProperty("machine").GetString());
        Assert.Equal(host.Timestamp, root.GetProperty("host").GetProperty("timestamp").GetDateTimeOffset());
        Assert.Equal(3, root.GetProperty("count").GetInt32());
        Assert.Contains("A B, B A", root.GetProperty("order").GetString());
        Assert.Equal("mitigations=off", root.GetProperty("b").GetProperty("vm").GetProperty("kernelArgs")[0].GetString());
        Assert.Equal(0, root.GetProperty("a").GetProperty("vm").GetProperty("kernelArgs").GetArrayLength());
        Assert.Equal("tcg", root.GetProperty("a").GetProperty("vm").GetProperty("accelerator").GetString());
        Assert.Equal("qemu", root.GetProperty("b").GetProperty("vm").GetProperty("backend").GetString());
        foreach (var side in new[] { "a", "b" })
        {
            var phases = root.GetProperty(side).GetProperty("phases");
            Assert.Equal(PhaseFigures.Names, phases.EnumerateArray().Select(p => p.GetProperty("name").GetString()));
            Assert.All(phases.EnumerateArray(), p =>
            {
                Assert.Equal(3, p.GetProperty("samplesMs").GetArrayLength());
                Assert.Equal(JsonValueKind.Number, p.GetProperty("medianMs").ValueKind);
                Assert.Equal(JsonValueKind.Number, p.GetProperty("p90Ms").ValueKind);
            });
            Assert.Equal(3, root.GetProperty(side).GetProperty("boots").GetInt32());
            Assert.Equal(0, root.GetProperty(side).GetProperty("failed").GetInt32());
        }
        Assert.Equal([100.0, 102.0, 104.0], root.GetProperty("a").GetProperty("phases")[0].GetProperty("samplesMs").EnumerateArray().Select(e => e.GetDouble()));
        var spawn = root.GetProperty("comparison")[0];
        Assert.Equal("VMM start", spawn.GetProperty("name").GetString());
        Assert.Equal(-11, spawn.GetProperty("deltaMs").GetDouble());
        Assert.Equal(-10.78, spawn.GetProperty("deltaPercent").GetDouble());
        Assert.Equal(0.1, spawn.GetProperty("p").GetDouble(), 1e-9);
        Assert.True(spawn.GetProperty("exact").GetBoolean());
        Assert.Equal("~", spawn.GetProperty("mark").GetString());
        Assert.Equal(PhaseFigures.Names.Count, root.GetProperty("comparison").GetArrayLength());
        Assert.Equal([200.0, 204.0, 208.0], root.GetProperty("a").GetProperty("vmmAnonMemory").GetProperty("samplesMib").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(182, root.GetProperty("b").GetProperty("vmmAnonMemory").GetProperty("medianMib").GetDouble());
    }

    [Fact]
    public void A_boot_whose_VMM_memory_could_not_be_read_is_left_out_of_the_memory_figures_and_no_row_is_printed_without_any()
    {
        var unread = Boot(50);
        unread.VmmAnonMibAtOutput = null;

        Assert.Equal([20.0], MemoryFigures.From([Boot(10), unread]).SamplesMib);
        var a = BenchSide.Of(new BenchVm("qemu", null, "tcg", 1, 512, []), 0, [unread, unread], appReady: false);
        Assert.DoesNotContain(CompareTable.Render(2, a, a, PhaseComparison.Of(a, a)).Split('\n'), l => l.StartsWith(MemoryFigures.Name + " ", StringComparison.Ordinal));
    }

    [Fact]
    public void Bench_floor_gives_both_VMMs_memory_and_system_CPU_and_each_kinds_median_by_the_kind_of_boot_before_it()
    {
        const FloorBench.Kind Floor = FloorBench.Kind.Floor, Run = FloorBench.Kind.Run, Cli = FloorBench.Kind.Cli;
        FloorBench.Boot[] boots =
        [
            new(Floor, Cli, 1300, 120, 90), new(Floor, Cli, 1320, 124, 110), new(Floor, Run, 1400, null, 100),
            new(Run, Floor, 2400, 200, null), new(Run, Floor, 2440, 210, 180), new(Run, Floor, 2420, 206, 160), new(Run, Run, 2200),
            new(Cli, Run, 2600),
        ];

        var lines = FloorBench.MemoryAndOrder(boots).Split('\n');

        Assert.Contains(lines, l => l == MemoryFigures.Name + " (median): floor 122.0 at its line, run 206.0 at its first output, run - floor +84.0");
        Assert.Contains(lines, l => l == PhaseFigures.VmmSystemCpuToOutput + " ms (median): floor 100.0 at its line, run 170.0 at its first output, run - floor +70.0");
        Assert.Matches(@"^boot to output\s+2420 \(3\)\s+2200 \(1\)\s+-$", lines.Single(l => l.StartsWith("boot to output", StringComparison.Ordinal)));
        Assert.Matches(@"^floor\s+-\s+1400 \(1\)\s+1310 \(2\)$", lines.Single(l => l.StartsWith("floor ", StringComparison.Ordinal)));
        Assert.Matches(@"^wall from CLI start\s+-\s+2600 \(1\)\s+-$", lines.Single(l => l.StartsWith("wall from CLI start", StringComparison.Ordinal)));
    }

    [Fact]
    public void Boot_json_has_each_phase_the_configuration_and_machine()
    {
        var side = Side("quiet", 10, 20);
        var host = new BenchHost(DateTimeOffset.UnixEpoch, "bench-box", null, 2, "Linux");

        using var doc = JsonDocument.Parse(BenchJson.Serialize(new BootBenchReport(host, 2, side)));
        var root = doc.RootElement;

        Assert.Equal("boot", root.GetProperty("bench").GetString());
        Assert.Equal("bench-box", root.GetProperty("host").GetProperty("machine").GetString());
        Assert.Equal("quiet", root.GetProperty("result").GetProperty("vm").GetProperty("kernelArgs")[0].GetString());
        var phases = root.GetProperty("result").GetProperty("phases");
        Assert.Equal(PhaseFigures.Names.Count, phases.GetArrayLength());
        Assert.Equal(15, phases[0].GetProperty("medianMs").GetDouble());
        Assert.Equal(20, phases[0].GetProperty("p90Ms").GetDouble());
        Assert.Equal([70.0, 140.0], phases[phases.GetArrayLength() - 3].GetProperty("samplesMs").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(PhaseFigures.VmmCpuToOutput, phases[phases.GetArrayLength() - 2].GetProperty("name").GetString());
        Assert.Equal([30.0, 60.0], phases[phases.GetArrayLength() - 2].GetProperty("samplesMs").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(PhaseFigures.VmmSystemCpuToOutput, phases[phases.GetArrayLength() - 1].GetProperty("name").GetString());
        Assert.Equal([5.0, 10.0], phases[phases.GetArrayLength() - 1].GetProperty("samplesMs").EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public void A_phase_no_boot_reached_is_null_in_json_not_an_error()
    {
        var empty = BenchSide.Of(new BenchVm("qemu", null, "tcg", 1, 512, []), 2, [], appReady: false);

        using var doc = JsonDocument.Parse(BenchJson.Serialize(new BootBenchReport(BenchHost.Now(), 2, empty)));

        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("result").GetProperty("phases")[0].GetProperty("medianMs").ValueKind);
        Assert.Equal(2, doc.RootElement.GetProperty("result").GetProperty("failed").GetInt32());
    }
}
