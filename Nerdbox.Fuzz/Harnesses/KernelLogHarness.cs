using System.Diagnostics;
using Grpc.Net.Client;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Relay;
using Nerdbox.Telemetry.Sinks;
using static Nerdbox.Fuzz.Harnesses.BrokenPromiseException;

namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// The guest's kernel log as the agent hands it over (KernelLog RPC's text), read as the host reads it
/// after a boot: <see cref="KernelLog.Parse"/>, <see cref="KernelBootPhases.From"/> with every initcall
/// eligible as a span, and <see cref="VmStartSpans.RecordKernel"/> into the relay. Nothing may throw; the
/// record count, the message length and the number of spans stay bounded.
/// </summary>
internal sealed class KernelLogHarness : IFuzzHarness
{
    private static readonly DateTime BootZeroUtc = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Where the agent's timeline puts /init on the boot clock (a typical TCG boot).</summary>
    private const long InitStartedNs = 3_000_000_000;

    private static readonly ClockEstimate Clock = new(OffsetNs: 0, UncertaintyNs: 20_000, BootZeroUtc, OffsetBeforeSetNs: 0, Probes: 8);
    private static readonly GrpcChannel Unused = GrpcChannel.ForAddress("http://127.0.0.1:9");
    private static readonly ActivityTraceId TraceId = ActivityTraceId.CreateFromString("0af7651916cd43dd8448eb211c80319c");
    private static readonly ActivitySpanId WaitSpanId = ActivitySpanId.CreateFromString("b7ad6b7169203331");

    /// <summary>The spans besides initcalls: the boot, its stretches and the initcall levels.</summary>
    private const int FixedSpans = 20;

    public string Name => "kernel-log";
    public string Input => "the guest kernel's log as the agent returns it (<6>[    0.123456] message a line)";

    public void Run(byte[] input)
    {
        var records = KernelLog.Parse(input);
        Require(records.Count <= KernelLog.MaxRecords, () => $"{records.Count} records");
        Require(records.All(r => r.Message.Length <= KernelLog.MaxMessageLength && r.TimeNs >= 0), () => "a record past the bounds");
        var kernel = KernelBootPhases.From(records, InitStartedNs, TimeSpan.Zero);
        if (kernel is null) return;

        var phases = new BootPhases { KernelStarted = BootZeroUtc, InitStarted = BootZeroUtc.AddTicks(InitStartedNs / 100) };
        var sink = new InMemorySpanSink();
        var relay = new GuestSpanRelay(new Traces.TracesClient(Unused), Clock, sink, RelayBounds.Default, BootZeroUtc, new Dictionary<string, string>());
        var spans = VmStartSpans.RecordKernel(kernel, phases, Clock, TraceId, WaitSpanId, relay);
        Require(spans <= KernelBootPhases.MaxInitcallSpans + FixedSpans, () => $"{spans} kernel spans");
        foreach (var span in sink.Snapshot().SelectMany(rs => rs.ScopeSpans).SelectMany(s => s.Spans))
            Require(span.EndTimeUnixNano >= span.StartTimeUnixNano, () => $"kernel span {span.Name} ends before it starts");
    }
}
