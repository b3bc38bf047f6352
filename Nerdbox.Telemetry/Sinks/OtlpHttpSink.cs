using Nerdbox.Telemetry.Otlp;
using System.IO.Compression;
using System.Net.Http.Headers;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>Exports to an OTLP/HTTP endpoint: the request POSTed as protobuf to the destination URL as given.</summary>
public sealed class OtlpHttpSink : QueuedSpanSink
{
    private static readonly MediaTypeHeaderValue Protobuf = new("application/x-protobuf");
    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly bool _gzip;

    public OtlpHttpSink(OtlpDestination destination, ILogger? logger = null, SinkOptions? options = null)
        : base(destination.Name, destination.ToString(), destination.Timeout, options, logger ?? NullLogger.Instance)
    {
        if (destination.Protocol != OtlpProtocol.HttpProtobuf)
            throw new ArgumentException($"{destination} is not an http/protobuf destination", nameof(destination));
        _url = destination.Endpoint;
        _headers = destination.Headers;
        _gzip = destination.Compression == OtlpCompression.Gzip;
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = destination.Timeout,
            ActivityHeadersPropagator = null, // our own requests are not part of the traces they carry
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // the sender's per-export timeout governs
        };
    }

    protected override async Task<ExportOutcome> SendAsync(ExportTraceServiceRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, _url);
        var body = new ByteArrayContent(_gzip ? Gzip(request.ToByteArray()) : request.ToByteArray());
        body.Headers.ContentType = Protobuf;
        if (_gzip) body.Headers.ContentEncoding.Add("gzip");
        message.Content = body;
        foreach (var (key, value) in _headers) message.Headers.TryAddWithoutValidation(key, value);

        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new OtlpHttpStatusException(response.StatusCode, response.ReasonPhrase, RetryAfter(response));
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
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

    protected override RetryVerdict Retryable(Exception e) => e is OtlpHttpStatusException status ? status.Verdict : RetryVerdict.No;

    /// <summary><c>Retry-After</c> as seconds or as an HTTP date.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    protected override ValueTask DisposeTransportAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
