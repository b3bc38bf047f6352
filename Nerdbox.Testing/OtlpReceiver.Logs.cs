using Grpc.Core;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Logs.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace Nerdbox.Testing;

/// <summary>
/// The logs face: <c>LogsService/Export</c> on the gRPC port and protobuf <c>POST /v1/logs</c> on the HTTP
/// port, each log record kept with its resource and the transport it came by. Logs are always accepted.
/// </summary>
public sealed partial class OtlpReceiver
{
    private readonly List<ReceivedLog> _logs = [];
    private long _logCount;

    /// <summary>Every stored log record, flattened, with its resource's service.name.</summary>
    public IReadOnlyList<ReceivedLog> Logs
    {
        get { lock (_lock) return _logs.ToArray(); }
    }

    /// <summary>Log records accepted so far, kept or not.</summary>
    public long LogCount => Interlocked.Read(ref _logCount);

    /// <summary>Waits until <paramref name="predicate"/> holds for the log records received so far; returns them.</summary>
    public async Task<IReadOnlyList<ReceivedLog>> WaitForLogsAsync(Func<IReadOnlyList<ReceivedLog>, bool> predicate, TimeSpan timeout)
    {
        await WaitAsync(() => predicate(Logs), timeout, "the log records");
        return Logs;
    }

    private void Keep(ExportLogsServiceRequest request, string transport)
    {
        long n = 0;
        foreach (var batch in request.ResourceLogs)
            foreach (var scope in batch.ScopeLogs) n += scope.LogRecords.Count;
        Interlocked.Add(ref _logCount, n);
        if (_keep) lock (_lock)
        {
            foreach (var batch in request.ResourceLogs)
            {
                var service = ServiceNameOf(batch.Resource);
                foreach (var scope in batch.ScopeLogs)
                    foreach (var record in scope.LogRecords)
                        _logs.Add(new ReceivedLog(service, scope.Scope?.Name ?? "", record, batch.Resource ?? new OtlpResource(), transport));
            }
        }
        Pulse();
    }

    /// <summary><c>POST /v1/logs</c>: kept as it came (<see cref="SignalRequests"/>) and, when protobuf, as log records.</summary>
    private async Task HandleLogsAsync(HttpContext context)
    {
        var body = await KeepSignalAsync("logs", context);
        if (context.Request.ContentType?.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) == true)
            Keep(ExportLogsServiceRequest.Parser.ParseFrom(body), "http");
        else Pulse();
    }

    private sealed class LogsServiceEndpoint(OtlpReceiver receiver) : LogsService.LogsServiceBase
    {
        public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
        {
            receiver.Keep(request, "grpc");
            return Task.FromResult(new ExportLogsServiceResponse());
        }
    }
}

/// <summary>One received log record with the resource and scope it came in, and its transport ("grpc" or "http").</summary>
public sealed record ReceivedLog(string ServiceName, string ScopeName, LogRecord Record, OtlpResource Resource, string Transport);
