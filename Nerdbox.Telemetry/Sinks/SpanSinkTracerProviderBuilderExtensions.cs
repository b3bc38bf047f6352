using OpenTelemetry;
using OpenTelemetry.Trace;
using Nerdbox.Telemetry.Settings;

namespace Nerdbox.Telemetry.Sinks;

public static class SpanSinkTracerProviderBuilderExtensions
{
    /// <summary>
    /// How long finished host spans wait before going to the sink unless <c>OTEL_BSP_SCHEDULE_DELAY</c> says
    /// otherwise: short (the spec's default is 5 s), as a boot lasts well under a second.
    /// </summary>
    public const int ScheduledDelayMilliseconds = 200;

    /// <summary>The spec's default for <c>OTEL_BSP_EXPORT_TIMEOUT</c>.</summary>
    public const int ExportTimeoutMilliseconds = 30_000;

    /// <summary>
    /// Sends the provider's spans to <paramref name="sink"/> through a <see cref="HostSpanExporter"/>.
    /// Batch (the default) exports off the traced thread; Simple exports as each span ends — for tests.
    /// </summary>
    public static TracerProviderBuilder AddSpanSink(this TracerProviderBuilder builder, ISpanSink sink,
        ExportProcessorType processorType = ExportProcessorType.Batch, BatchSettings? batch = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return builder.AddProcessor(Processor(sink, processorType, batch));
    }

    /// <summary>The export processor that feeds <paramref name="sink"/> through a <see cref="HostSpanExporter"/>, batched as <paramref name="batch"/> says.</summary>
    public static BaseExportProcessor<System.Diagnostics.Activity> Processor(ISpanSink sink, ExportProcessorType processorType, BatchSettings? batch = null)
    {
        var exporter = new HostSpanExporter(sink);
        if (processorType == ExportProcessorType.Simple) return new SimpleActivityExportProcessor(exporter);
        batch ??= BatchSettings.None;
        return new BatchActivityExportProcessor(exporter,
            maxQueueSize: batch.MaxQueueSize ?? BatchSettings.DefaultMaxQueueSize,
            scheduledDelayMilliseconds: (int?)batch.ScheduleDelay?.TotalMilliseconds ?? ScheduledDelayMilliseconds,
            exporterTimeoutMilliseconds: (int?)batch.ExportTimeout?.TotalMilliseconds ?? ExportTimeoutMilliseconds,
            maxExportBatchSize: batch.MaxExportBatchSize ?? BatchSettings.DefaultMaxExportBatchSize);
    }
}
