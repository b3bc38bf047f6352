using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Fuzz.Harnesses;

/// <summary>Every harness, by name.</summary>
public static class FuzzHarnesses
{
    private static readonly Uri Server = new("http://trace-server.invalid:16686");

    public static readonly IReadOnlyList<IFuzzHarness> All =
    [
        new RelayBatchHarness(),
        new KernelLogHarness(),
        new HelperLinesHarness(),
        new BundleConfigHarness(),
        new Http2ConnectionHarness(),
        new TraceFileHarness(),
        new TraceAnswerHarness("jaeger-v1", "a Jaeger v1 query API answer (GET /api/traces)",
            http => new JaegerSource(Server, TraceAnswerHarness.Service, http)),
        new TraceAnswerHarness("jaeger-v3", "a Jaeger v3 query API answer (GET /api/v3/traces)",
            http => new JaegerV3Source(Server, TraceAnswerHarness.Service, http)),
        new TraceAnswerHarness("aspire", "an Aspire dashboard telemetry API answer (GET /api/telemetry/traces)",
            http => new AspireDashboardSource(Server, TraceAnswerHarness.Service, apiKey: null, http)),
    ];

    /// <summary>The harness with a planted bug, which checks that fuzzing finds crashes at all.</summary>
    public static readonly IFuzzHarness Canary = new CanaryHarness();

    public static IFuzzHarness? Find(string name) => All.Append(Canary).FirstOrDefault(h => h.Name == name);
}
