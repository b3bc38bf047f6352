using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>What a destination said about one request: spans (or log records) it rejected (partial success) and its message.</summary>
public readonly record struct ExportOutcome(long Rejected, string Message)
{
    public static readonly ExportOutcome Accepted = new(0, "");

    public static ExportOutcome From(ExportTraceServiceResponse? response) =>
        response?.PartialSuccess is { } partial ? new(partial.RejectedSpans, partial.ErrorMessage) : Accepted;

    public static ExportOutcome From(ExportLogsServiceResponse? response) =>
        response?.PartialSuccess is { } partial ? new(partial.RejectedLogRecords, partial.ErrorMessage) : Accepted;
}
