using Nerdbox.Telemetry.Otlp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Logs.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// Exports log records to an OTLP/HTTP destination: POSTed as protobuf to the logs URL beside its traces URL
/// (<c>.../v1/traces</c> becomes <c>.../v1/logs</c>, see <see cref="LogsUrl"/>).
/// </summary>
public sealed class OtlpHttpLogSink : QueuedLogSink
{
    private const string TracesPath = "/v1/traces";
    private readonly OtlpHttpTransport _transport;

    public OtlpHttpLogSink(OtlpDestination destination, ILogger? logger = null, SinkOptions? options = null)
        : this(LogsUrl(destination) ?? throw new ArgumentException(
            $"{destination}: its URL does not end with {TracesPath}, so there is no logs URL beside it", nameof(destination)),
            new OtlpHttpTransport(destination), destination, logger, options) { }

    private OtlpHttpLogSink(Uri url, OtlpHttpTransport transport, OtlpDestination destination, ILogger? logger, SinkOptions? options)
        : base(destination.Name, $"{destination} logs", destination.Timeout, options, logger ?? NullLogger.Instance, transport)
    {
        Url = url;
        _transport = transport;
    }

    public Uri Url { get; }

    /// <summary>
    /// The logs URL of a destination whose traces URL ends with <c>/v1/traces</c> (a base endpoint, or a traces
    /// URL in the standard layout); null for any other traces URL, which says nothing about where logs go.
    /// </summary>
    public static Uri? LogsUrl(OtlpDestination destination)
    {
        var url = destination.Endpoint;
        var path = url.AbsolutePath.TrimEnd('/');
        if (!path.EndsWith(TracesPath, StringComparison.Ordinal)) return null;
        return new UriBuilder(url) { Path = path[..^TracesPath.Length] + "/v1/logs" }.Uri;
    }

    protected override Task<ExportOutcome> SendAsync(ExportLogsServiceRequest request, CancellationToken cancellationToken) =>
        _transport.ExportAsync(Url, request, ExportLogsServiceResponse.Parser, ExportOutcome.From, cancellationToken);
}
