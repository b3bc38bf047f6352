using Microsoft.Extensions.Configuration;
using Nerdbox.Telemetry.Otlp;

namespace Nerdbox.Telemetry.Settings;

/// <summary>The batch span processor's settings (<c>OTEL_BSP_*</c>) as set; null where unset.</summary>
public sealed record BatchSettings(TimeSpan? ScheduleDelay, TimeSpan? ExportTimeout, int? MaxQueueSize, int? MaxExportBatchSize)
{
    public const string ScheduleDelayVariable = "OTEL_BSP_SCHEDULE_DELAY";
    public const string ExportTimeoutVariable = "OTEL_BSP_EXPORT_TIMEOUT";
    public const string MaxQueueSizeVariable = "OTEL_BSP_MAX_QUEUE_SIZE";
    public const string MaxExportBatchSizeVariable = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";

    /// <summary>The spec's defaults for the sizes, which the processor uses when unset.</summary>
    public const int DefaultMaxQueueSize = 2048;
    public const int DefaultMaxExportBatchSize = 512;

    public static readonly BatchSettings None = new(null, null, null, null);

    /// <summary>
    /// Reads <c>OTEL_BSP_*</c>: the delay in milliseconds (≥ 1, as the SDK's processor needs), the timeout in milliseconds (≥ 0), sizes ≥ 1, and a batch no bigger than the
    /// queue (as the spec requires). A bad value is an <see cref="OtlpConfigurationException"/> naming it.
    /// </summary>
    public static BatchSettings Parse(IConfiguration configuration)
    {
        var delay = SettingValues.Positive(configuration, ScheduleDelayVariable, "milliseconds");
        var timeout = SettingValues.NonNegative(configuration, ExportTimeoutVariable, "milliseconds");
        var queue = SettingValues.Positive(configuration, MaxQueueSizeVariable, "spans");
        var batch = SettingValues.Positive(configuration, MaxExportBatchSizeVariable, "spans");
        if (batch > (queue ?? DefaultMaxQueueSize))
            throw new OtlpConfigurationException(MaxExportBatchSizeVariable,
                $"{MaxExportBatchSizeVariable}={batch} is more than the queue holds ({MaxQueueSizeVariable}, {queue ?? DefaultMaxQueueSize})");
        return new BatchSettings(
            delay is { } d ? TimeSpan.FromMilliseconds(d) : null,
            timeout is { } t ? TimeSpan.FromMilliseconds(t) : null,
            queue, batch);
    }
}
