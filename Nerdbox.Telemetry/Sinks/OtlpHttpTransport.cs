using Nerdbox.Telemetry.Otlp;
using Google.Protobuf;
using System.IO.Compression;
using System.Net.Http.Headers;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>
/// One OTLP/HTTP destination's client: a protobuf body POSTed to a URL (gzipped when the destination says so),
/// the answer's body returned, a failure status thrown with the pause the server asked for. The span and
/// log sinks of a destination each use one.
/// </summary>
internal sealed class OtlpHttpTransport : IExportTransport
{
    private static readonly MediaTypeHeaderValue Protobuf = new("application/x-protobuf");
    private readonly HttpClient _http;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly bool _gzip;

    public OtlpHttpTransport(OtlpDestination destination)
    {
        if (destination.Protocol != OtlpProtocol.HttpProtobuf)
            throw new ArgumentException($"{destination} is not an http/protobuf destination", nameof(destination));
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

    /// <summary>
    /// POSTs an export request and reads the destination's answer. A body that is not the signal's export response
    /// (some proxies answer 200 with text) is not a rejection.
    /// </summary>
    public async Task<ExportOutcome> ExportAsync<TResponse>(Uri url, IMessage request, MessageParser<TResponse> parser,
        Func<TResponse, ExportOutcome> outcome, CancellationToken cancellationToken) where TResponse : IMessage<TResponse>
    {
        var bytes = await PostAsync(url, request.ToByteArray(), cancellationToken).ConfigureAwait(false);
        if (bytes.Length == 0) return ExportOutcome.Accepted;
        try
        {
            return outcome(parser.ParseFrom(bytes));
        }
        catch (InvalidProtocolBufferException)
        {
            return ExportOutcome.Accepted;
        }
    }

    /// <summary>POSTs <paramref name="body"/>; returns the answer's body (empty when there is none).</summary>
    private async Task<byte[]> PostAsync(Uri url, byte[] body, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, url);
        var content = new ByteArrayContent(_gzip ? Gzip(body) : body);
        content.Headers.ContentType = Protobuf;
        if (_gzip) content.Headers.ContentEncoding.Add("gzip");
        message.Content = content;
        foreach (var (key, value) in _headers) message.Headers.TryAddWithoutValidation(key, value);

        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new OtlpHttpStatusException(response.StatusCode, response.ReasonPhrase, RetryAfter(response));
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    public string? Describe(Exception e) => null;

    public RetryVerdict Retryable(Exception e) => e is OtlpHttpStatusException status ? status.Verdict : RetryVerdict.No;

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

    public void Dispose() => _http.Dispose();
}
