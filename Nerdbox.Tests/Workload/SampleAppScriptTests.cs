using System.Diagnostics;
using Nerdbox.Engine.Bundles;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Workload;

/// <summary>
/// The app sample's script, run by the host's busybox (the guest image's, Debian's busybox-static) against a real
/// OTLP/HTTP receiver: with only the two variables it posts OTLP/JSON spans that the receiver reads back, under
/// the given parent; without them, or with nowhere to send, it says so and still exits 0.
/// </summary>
public sealed class SampleAppScriptTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "nerdbox-tests", "app-" + Guid.NewGuid().ToString("N")[..8]);

    public ValueTask InitializeAsync() => new(SampleBundle.CreateAppAsync(_dir, "hello from the script test"));

    public ValueTask DisposeAsync()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunScriptAsync(params (string Name, string Value)[] env)
    {
        // The bundle's own busybox and applet links, first and only on PATH: the host's GNU tools (wget, timeout) are not what the container has.
        var bin = Path.Combine(_dir, "rootfs", "bin");
        var start = new ProcessStartInfo(Path.Combine(bin, "busybox")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "sh", Path.Combine(_dir, "rootfs", SampleBundle.AppScriptPath.TrimStart('/')), "hello from the script test" }) start.ArgumentList.Add(a);
        // Nothing of the test's own environment: the script gets PATH and what the test names, as a container would.
        start.Environment.Clear();
        start.Environment["PATH"] = bin;
        foreach (var (name, value) in env) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task With_the_endpoint_and_traceparent_it_posts_its_spans_as_children_of_the_given_span()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var endpoint = receiver.HttpEndpoint.GetLeftPart(UriPartial.Authority);
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var parentId = ActivitySpanId.CreateRandom().ToHexString();
        var before = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

        var (code, stdout, stderr) = await RunScriptAsync(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("TRACEPARENT", $"00-{traceId}-{parentId}-01"));
        var after = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000 + 1_000_000;

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("hello from the script test", stdout);
        var sent = $"sample-app: 2 spans sent to {endpoint}/v1/traces in trace {traceId}";
        Assert.True(stdout.Contains(sent, StringComparison.Ordinal), $"no '{sent}' in:\n{stdout}\n{stderr}");
        Assert.Equal(1, receiver.RequestCount);
        Assert.Equal("application/json", receiver.RequestHeaders.Single()["content-type"]);
        var spans = receiver.Spans;
        Assert.Equal(SampleBundle.AppSpans, spans.Select(s => s.Span.Name));
        Assert.All(spans, s =>
        {
            Assert.Equal(SampleBundle.AppServiceName, s.ServiceName);
            Assert.Equal(traceId, TracedRun.Hex(s.Span.TraceId));
            Assert.Equal(parentId, TracedRun.Hex(s.Span.ParentSpanId));
            Assert.Matches("^[0-9a-f]{16}$", TracedRun.Hex(s.Span.SpanId));
            Assert.NotEqual(new string('0', 16), TracedRun.Hex(s.Span.SpanId));
            // Unix nanoseconds from the shell's clock: inside the run, ordered.
            Assert.InRange(s.Span.StartTimeUnixNano, before, s.Span.EndTimeUnixNano);
            Assert.InRange(s.Span.EndTimeUnixNano, s.Span.StartTimeUnixNano, after);
        });
        Assert.NotEqual(spans[0].Span.SpanId, spans[1].Span.SpanId);
        Assert.True(spans[0].Span.EndTimeUnixNano <= spans[1].Span.StartTimeUnixNano, "app.LoadConfig ends before app.Ready starts");
        var config = spans[0].Span.Attributes.ToDictionary(a => a.Key, a => a.Value);
        Assert.Matches("^[0-9a-f]{16}$", config["app.binary.sha256"].StringValue);
        Assert.Equal("hello from the script test", spans[1].Span.Attributes.Single(a => a.Key == "app.greeting").Value.StringValue);
    }

    [Fact]
    public async Task Without_the_variables_it_says_so_and_exits_zero()
    {
        var (code, stdout, stderr) = await RunScriptAsync();
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("hello from the script test", stdout);
        Assert.Contains("sample-app: no usable TRACEPARENT ('')", stdout);
        Assert.Contains("sample-app: OTEL_EXPORTER_OTLP_ENDPOINT is not set; no spans sent", stdout);
    }

    [Fact]
    public async Task A_bad_traceparent_starts_a_trace_of_its_own()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var (code, stdout, _) = await RunScriptAsync(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.GetLeftPart(UriPartial.Authority) + "/"),
            ("TRACEPARENT", "00-not-hex-01"));
        Assert.Equal(0, code);
        Assert.Contains("no usable TRACEPARENT ('00-not-hex-01')", stdout);
        var spans = await receiver.WaitForSpansAsync(s => s.Count == 2, TimeSpan.FromSeconds(60));
        Assert.All(spans, s => Assert.True(s.Span.ParentSpanId.IsEmpty));
        Assert.Single(spans.Select(s => s.Span.TraceId).Distinct());
    }

    [Fact]
    public async Task A_refused_export_is_reported_and_the_app_still_exits_zero()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        receiver.Mode = ReceiverMode.Reject;
        var (code, stdout, _) = await RunScriptAsync(("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.HttpEndpoint.GetLeftPart(UriPartial.Authority)),
            ("TRACEPARENT", $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01"));
        Assert.Equal(0, code);
        Assert.True(stdout.Contains("sample-app: sending spans to") && stdout.Contains("503"), stdout);
        Assert.Empty(receiver.Spans);
    }
}
