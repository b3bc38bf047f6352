using Nerdbox.Telemetry;
using Nerdbox.Telemetry.Tracing;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Telemetry;

/// <summary>
/// A CLI verb's host spans under the standard settings, at a real receiver. Spans get unique names:
/// other tests' providers may listen to the shim's source at the same time.
/// </summary>
[Collection(nameof(ShimSourceAlone))]
public class CliTracingSettingsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static async Task<IReadOnlyList<ReceivedSpan>> TraceOneSpanAsync(OtlpReceiver receiver, string name, params (string, string)[] settings)
    {
        using var logs = new CapturingLoggerProvider();
        using var loggers = logs.CreateFactory();
        var all = settings.Append(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.GrpcEndpoint.ToString()))
            .Append(("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")).ToArray();
        await using var tracing = CliTracing.Start(loggers, configuration: TestSettings.Of(all));
        ShimTracing.Source.StartActivity(name)?.Dispose();
        await tracing.FlushAsync(Wait);
        return receiver.Spans.Where(s => s.Span.Name == name).ToList();
    }

    [Fact]
    public async Task The_service_is_nerdbox_by_default()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("default-name");
        var span = Assert.Single(await TraceOneSpanAsync(receiver, name));
        Assert.Equal("nerdbox", span.ServiceName);
        Assert.Contains(span.Resource.Attributes, a => a.Key == "service.instance.id");
        Assert.Contains(span.Resource.Attributes, a => a.Key == "telemetry.sdk.name");
    }

    [Fact]
    public async Task OTEL_SERVICE_NAME_and_OTEL_RESOURCE_ATTRIBUTES_make_the_host_resource()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("named");
        var span = Assert.Single(await TraceOneSpanAsync(receiver, name,
            ("OTEL_SERVICE_NAME", "edge-shim"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=loses,deployment.environment=prod%2Ceu,service.instance.id=box-7,broken")));

        Assert.Equal("edge-shim", span.ServiceName);
        var attributes = span.Resource.Attributes.ToDictionary(a => a.Key, a => a.Value.StringValue);
        Assert.Equal("prod,eu", attributes["deployment.environment"]);
        Assert.Equal("box-7", attributes["service.instance.id"]);
    }

    [Fact]
    public async Task Service_name_in_OTEL_RESOURCE_ATTRIBUTES_names_the_service_without_OTEL_SERVICE_NAME()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("attr-name");
        var span = Assert.Single(await TraceOneSpanAsync(receiver, name, ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes")));
        Assert.Equal("from-attributes", span.ServiceName);
    }

    [Fact]
    public async Task OTEL_SDK_DISABLED_exports_no_host_span()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var before = TestBatches.UniqueName("before");
        Assert.Single(await TraceOneSpanAsync(receiver, before)); // the same set-up exports when enabled

        var name = TestBatches.UniqueName("disabled");
        Assert.Empty(await TraceOneSpanAsync(receiver, name, ("OTEL_SDK_DISABLED", "true")));
    }

    [Fact]
    public async Task OTEL_BSP_SCHEDULE_DELAY_and_MAX_EXPORT_BATCH_SIZE_pace_and_split_the_host_spans()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("batched");
        var settings = TestSettings.Of(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.GrpcEndpoint.ToString()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2"), ("OTEL_BSP_SCHEDULE_DELAY", "60000"));
        await using var tracing = CliTracing.Start(new Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory(), configuration: settings);
        ShimTracing.Source.StartActivity(name)?.Dispose();

        // A minute's schedule delay and one span, short of a batch: nothing goes before the flush.
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(receiver.Spans, s => s.Span.Name == name);
        for (var i = 0; i < 4; i++) ShimTracing.Source.StartActivity(name)?.Dispose();
        await tracing.FlushAsync(Wait);

        var ours = receiver.Batches.Where(b => b.ScopeSpans.Any(s => s.Spans.Any(x => x.Name == name))).ToList();
        Assert.Equal(5, ours.Sum(b => b.ScopeSpans.Sum(s => s.Spans.Count(x => x.Name == name))));
        Assert.All(ours, b => Assert.True(b.ScopeSpans.Sum(s => s.Spans.Count) <= 2));
    }
}

/// <summary>
/// These tests listen to the shim's ActivitySource, which every test that boots or drives a VM in this
/// process also writes to: they run on their own, so that a batch holds only their spans.
/// </summary>
[CollectionDefinition(nameof(ShimSourceAlone), DisableParallelization = true)]
public sealed class ShimSourceAlone;
