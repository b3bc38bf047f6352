using Nerdbox.Telemetry.Otlp;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Exports to an OTLP/HTTP endpoint: the request POSTed as protobuf to the destination URL as given.</summary>
public sealed class OtlpHttpSink : QueuedSpanSink
{
    private readonly OtlpHttpTransport _transport;
    private readonly Uri _url;

    public OtlpHttpSink(OtlpDestination destination, ILogger? logger = null, SinkOptions? options = null)
        : base(destination.Name, destination.ToString(), destination.Timeout, options, logger ?? NullLogger.Instance)
    {
        _transport = new OtlpHttpTransport(destination);
        _url = destination.Endpoint;
    }

    protected override async Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken)
    {
        var bytes = await _transport.PostAsync(_url, request.ToByteArray(), cancellationToken).ConfigureAwait(false);
        if (bytes.Length == 0) return ExportOutcome.Accepted;
        // A body that is not an ExportTraceServiceResponse (some proxies answer 200 with text) is not a rejection.
        try
        {
            return ExportOutcome.From(ExportTraceServiceResponse.Parser.ParseFrom(bytes));
        }
        catch (InvalidProtocolBufferException)
        {
            return ExportOutcome.Accepted;
        }
    }

    protected override RetryVerdict Retryable(Exception e) => OtlpHttpTransport.Retryable(e);

    protected override ValueTask DisposeTransportAsync()
    {
        _transport.Dispose();
        return ValueTask.CompletedTask;
    }
}
