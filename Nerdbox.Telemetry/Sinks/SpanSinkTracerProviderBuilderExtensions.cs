using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Nerdbox.Telemetry.Sinks;

public static class SpanSinkTracerProviderBuilderExtensions
{
    /// <summary>How long finished host spans wait before going to the sink: short, as a boot lasts well under a second.</summary>
    public const int ScheduledDelayMilliseconds = 200;

    /// <summary>
    /// Sends the provider's spans to <paramref name="sink"/> through a <see cref="HostSpanExporter"/>.
    /// Batch (the default) exports off the traced thread; Simple exports as each span ends — for tests.
    /// </summary>
    public static TracerProviderBuilder AddSpanSink(this TracerProviderBuilder builder, ISpanSink sink,
        ExportProcessorType processorType = ExportProcessorType.Batch)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return builder.AddProcessor(Processor(sink, processorType));
    }

    /// <summary>The export processor that feeds <paramref name="sink"/> through a <see cref="HostSpanExporter"/>.</summary>
    public static BaseExportProcessor<System.Diagnostics.Activity> Processor(ISpanSink sink, ExportProcessorType processorType)
    {
        var exporter = new HostSpanExporter(sink);
        return processorType == ExportProcessorType.Simple
            ? new SimpleActivityExportProcessor(exporter)
            : new BatchActivityExportProcessor(exporter, scheduledDelayMilliseconds: ScheduledDelayMilliseconds);
    }
}
