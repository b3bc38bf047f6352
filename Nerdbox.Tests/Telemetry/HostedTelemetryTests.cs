using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nerdbox.Telemetry;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Telemetry.Tracing;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Nerdbox.Tests.Telemetry;

/// <summary>
/// The hosted service's telemetry as the shim wires it (service defaults, the shim's spans into the sinks),
/// under the standard settings, at real receivers.
/// </summary>
public class HostedTelemetryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>Runs a host as the shim's is set up, makes one span and logs one line, and stops it (which flushes).</summary>
    private static async Task RunHostAsync(string spanName, string logLine, params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.Services.AddSingleton<ISpanSink>(sp => SpanSinks.Create(builder.Configuration, sp.GetRequiredService<ILoggerFactory>()));
        builder.AddServiceDefaults(tracing => tracing.AddShimSpans(sp => sp.GetRequiredService<ISpanSink>()));
        var host = builder.Build();
        await host.StartAsync();
        ShimTracing.Source.StartActivity(spanName)?.Dispose();
        host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Nerdbox.Tests").LogWarning("{Line}", logLine);
        await host.StopAsync();
        // Flushed while the host's services (the exporters' HTTP clients) are still there.
        host.Services.GetService<TracerProvider>()?.ForceFlush(10_000);
        host.Services.GetService<LoggerProvider>()?.ForceFlush(10_000);
        host.Services.GetService<MeterProvider>()?.ForceFlush(10_000);
        await host.Services.GetRequiredService<ISpanSink>().FlushAsync(Wait);
        host.Dispose();
    }

    [Fact]
    public async Task The_hosted_service_takes_resource_attributes_from_the_sdk_and_defaults_to_nerdbox()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("hosted");
        await RunHostAsync(name, "unused",
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.HttpEndpoint.ToString()),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging"));

        var span = Assert.Single(await receiver.WaitForSpansAsync(s => s.Any(x => x.Span.Name == name), Wait), s => s.Span.Name == name);
        Assert.Equal("nerdbox", span.ServiceName);
        Assert.Equal("staging", span.Resource.Attributes.Single(a => a.Key == "deployment.environment").Value.StringValue);
    }

    [Fact]
    public async Task OTEL_SERVICE_NAME_names_the_hosted_service()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("hosted-named");
        await RunHostAsync(name, "unused",
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.HttpEndpoint.ToString()),
            ("OTEL_SERVICE_NAME", "shim"));

        var span = Assert.Single(await receiver.WaitForSpansAsync(s => s.Any(x => x.Span.Name == name), Wait), s => s.Span.Name == name);
        Assert.Equal("shim", span.ServiceName);
    }

    [Fact]
    public async Task OTEL_SDK_DISABLED_exports_no_host_span_log_or_metric_from_the_service()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("hosted-off");
        var endpoint = $"http://127.0.0.1:{receiver.HttpEndpoint.Port}";
        await RunHostAsync(name, "should not be exported",
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SDK_DISABLED", "true"));

        Assert.DoesNotContain(receiver.Spans, s => s.Span.Name == name);
        Assert.Empty(receiver.SignalRequests);
    }

    [Fact]
    public async Task Logs_go_to_the_logs_endpoint_and_never_to_the_traces_only_destinations()
    {
        await using var general = await OtlpReceiver.StartAsync();
        await using var logsOnly = await OtlpReceiver.StartAsync();
        await using var jaeger = await OtlpReceiver.StartAsync();
        var name = TestBatches.UniqueName("hosted-logs");
        var line = "log line " + Guid.NewGuid().ToString("N");
        await RunHostAsync(name, line,
            ("OTEL_EXPORTER_OTLP_ENDPOINT", $"http://127.0.0.1:{general.HttpEndpoint.Port}"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", $"http://127.0.0.1:{logsOnly.HttpEndpoint.Port}/v1/logs"),
            ("NERDBOX_OTLP_EXTRA_ENDPOINTS", $"jaeger=http://127.0.0.1:{jaeger.HttpEndpoint.Port};http/protobuf"));

        await logsOnly.WaitForSignalAsync(r => r.Signal == "logs" && Contains(r.Body, line), Wait);
        Assert.DoesNotContain(general.SignalRequests, r => r.Signal == "logs");
        Assert.Empty(jaeger.SignalRequests); // neither logs nor metrics
        // Traces still reach both trace destinations.
        await general.WaitForSpansAsync(s => s.Any(x => x.Span.Name == name), Wait);
        await jaeger.WaitForSpansAsync(s => s.Any(x => x.Span.Name == name), Wait);
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
