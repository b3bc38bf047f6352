using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Nerdbox.Telemetry.Settings;
using Nerdbox.Telemetry.Sinks;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Nerdbox.Telemetry.Tracing;

/// <summary>
/// The one way the shim's spans are wired into a tracer provider: its ActivitySource, batched into a
/// span sink (the same sinks the guest's relayed spans go to). The service host, the CLI verbs and
/// the benchmarks all use it. The standard settings apply: OTEL_SDK_DISABLED (the SDK then gives a
/// no-op provider and no host span is made), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*.
/// </summary>
public static class ShimTracerProvider
{
    /// <summary>Adds the shim's spans, exported to the sink the service provider holds (for a hosted app).</summary>
    public static TracerProviderBuilder AddShimSpans(this TracerProviderBuilder builder, Func<IServiceProvider, ISpanSink> sink) =>
        builder.ConfigureResource(r => r.AddDefaultServiceName())
            .AddSource(ShimTracing.SourceName)
            // Made only when the SDK is on: a disabled SDK builds no processor at all.
            .AddProcessor(sp => SpanSinkTracerProviderBuilderExtensions.Processor(sink(sp), ExportProcessorType.Batch,
                BatchSettings.Parse(sp.GetRequiredService<IConfiguration>())));

    /// <summary>
    /// A stand-alone provider (for a CLI verb): the shim's service resource and spans, into <paramref name="sink"/>,
    /// with the settings in <paramref name="configuration"/> (default: the process environment).
    /// </summary>
    public static TracerProvider Create(ISpanSink sink, ExportProcessorType processorType = ExportProcessorType.Batch,
        IConfiguration? configuration = null)
    {
        var settings = configuration ?? OtelEnvironment.Current();
        var batch = BatchSettings.Parse(settings);
        return Sdk.CreateTracerProviderBuilder()
            // The SDK reads its own settings (OTEL_SDK_DISABLED among them) from the same place.
            .ConfigureServices(services => services.AddSingleton(settings))
            .SetResourceBuilder(ShimResource.Builder(settings))
            .AddSource(ShimTracing.SourceName)
            .AddProcessor(_ => SpanSinkTracerProviderBuilderExtensions.Processor(sink, processorType, batch))
            .Build()!;
    }
}
