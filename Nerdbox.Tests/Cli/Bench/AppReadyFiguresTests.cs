using Nerdbox.Engine.Boot;
using Nerdbox.Shim.Cli;
using Nerdbox.Shim.Cli.Bench;

namespace Nerdbox.Tests.Cli.Bench;

/// <summary>
/// "Boot to app ready" (<c>--ready-when</c>) without booting: the run's summary line, or the line saying the span
/// never came; the benchmarks' extra phase and the note on boots that did not see it; the run's workload lines.
/// </summary>
public sealed class AppReadyFiguresTests
{
    private static readonly DateTime T0 = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static BootPhases Boot(string? readyWhen, double? appReadyMs, double outputMs = 900) => new()
    {
        VmmSpawned = T0,
        VmmReady = T0.AddMilliseconds(100),
        FirstReply = T0.AddMilliseconds(500),
        ContainerStarted = T0.AddMilliseconds(800),
        FirstOutput = T0.AddMilliseconds(outputMs),
        ReadyWhen = readyWhen,
        AppReady = appReadyMs is { } ms ? T0.AddMilliseconds(ms) : null,
    };

    [Fact]
    public void The_summary_times_boot_to_app_ready_from_the_same_origin_as_boot_to_output()
    {
        var summary = Boot("app.Ready", 1234).Summary();
        var lines = summary.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("boot to output") && l.TrimEnd().EndsWith(" 900"));
        Assert.Contains(lines, l => l.StartsWith("boot to app ready") && l.Contains(" 1234 ") && l.Contains("'app.Ready'"));
    }

    [Fact]
    public void A_span_that_never_came_gets_a_line_saying_so()
    {
        var phases = Boot("app.Ready", null);
        Assert.Null(phases.BootToAppReady);
        Assert.Contains("app ready: no workload span named 'app.Ready' arrived before the run ended", phases.Summary());
    }

    [Fact]
    public void Without_ready_when_the_summary_has_no_app_ready_line()
    {
        var phases = Boot(null, 1234);
        Assert.Null(phases.AppReadyLine());
        Assert.DoesNotContain("app ready", phases.Summary());
    }

    [Fact]
    public void The_benchmarks_add_the_phase_only_when_asked_and_count_the_boots_without_it()
    {
        BootPhases[] runs = [Boot("app.Ready", 1000), Boot("app.Ready", 1200), Boot("app.Ready", null)];

        Assert.DoesNotContain(PhaseFigures.From(runs), f => f.Name == PhaseFigures.BootToAppReady);
        var ready = Assert.Single(PhaseFigures.From(runs, appReady: true), f => f.Name == PhaseFigures.BootToAppReady);
        Assert.Equal([1000.0, 1200.0], ready.SamplesMs);
        Assert.Equal(1100.0, ready.MedianMs);
        Assert.Contains("1 boot(s) ended without a workload span named 'app.Ready'", PhaseFigures.AppReadyNote(runs, "app.Ready"));
        Assert.Null(PhaseFigures.AppReadyNote(runs[..2], "app.Ready"));
    }

    [Fact]
    public async Task A_run_prints_a_line_per_container_with_its_losses_named()
    {
        // Real relay counters, filled by the relay's own path (a batch forwarded without a log destination).
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://127.0.0.1:1");
        await using var relay = new GuestSpanRelay(new Nerdbox.Api.Traces.V1.Traces.TracesClient(channel), Nerdbox.Engine.Clock.ClockEstimate.None,
            new Nerdbox.Telemetry.Sinks.InMemorySpanSink(), RelayBounds.Default, T0, new Dictionary<string, string>());
        var record = new OpenTelemetry.Proto.Logs.V1.LogRecord { TimeUnixNano = 1 };
        await relay.ForwardAsync(new Nerdbox.Api.Traces.V1.SpanBatch
        {
            WorkloadLogs = { new Nerdbox.Api.Traces.V1.WorkloadLogs { ContainerId = "app", ResourceLogs = new() { ScopeLogs = { new OpenTelemetry.Proto.Logs.V1.ScopeLogs { LogRecords = { record } } } } } },
            Stats = new Nerdbox.Api.Traces.V1.BufferStats { Workloads = { new Nerdbox.Api.Traces.V1.WorkloadStats { ContainerId = "app", SpansReceived = 5, SpansDropped = 3, RequestsRejected = 1 } } },
        });

        var lines = RunCommand.WorkloadLines(relay.Stats).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal("workload telemetry: container app: 0 spans, 0 logs; dropped in guest 3 spans, 0 logs; dropped by host 0 spans, 1 logs; rejected 1 requests, 0 items", lines[0]);
        Assert.Equal("workload log records dropped by the host: no log destination: 1", lines[1]);
        Assert.Empty(RunCommand.WorkloadLines(null));
    }
}
