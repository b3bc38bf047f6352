using Nerdbox.Telemetry.Sinks;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Nerdbox.Telemetry.Tracing;

/// <summary>
/// The one way the shim's spans are wired into a tracer provider: its ActivitySource, batched into a
/// span sink (the same sinks the guest's relayed spans go to). The service host, the CLI verbs and
/// the benchmarks all use it.
/// </summary>
public static class ShimTracerProvider
{
    /// <summary>Adds the shim's spans, exported to the sink the service provider holds (for a hosted app).</summary>
    public static TracerProviderBuilder AddShimSpans(this TracerProviderBuilder builder, Func<IServiceProvider, ISpanSink> sink) =>
        builder.AddSource(ShimTracing.SourceName)
            .AddProcessor(sp => SpanSinkTracerProviderBuilderExtensions.Processor(sink(sp), ExportProcessorType.Batch));

    /// <summary>A stand-alone provider (for a CLI verb): the shim's service resource and spans, into <paramref name="sink"/>.</summary>
    public static TracerProvider Create(ISpanSink sink, ExportProcessorType processorType = ExportProcessorType.Batch) =>
        Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(ShimTracing.ServiceName))
            .AddSource(ShimTracing.SourceName)
            .AddSpanSink(sink, processorType)
            .Build()!;
}
