using System.Net;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// The one place the HTTP sources do a GET: a timeout on every call, the API key header when given,
/// and every failure (refused, timed out, 4xx/5xx, not JSON) turned into a message naming the URL.
/// </summary>
internal sealed class HttpTraceFetcher
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A boot trace is kilobytes; a body far past that is not what was asked for.</summary>
    public const int MaxBodyBytes = 64 << 20;

    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;

    public HttpTraceFetcher(HttpClient? http, TimeSpan? timeout)
    {
        _http = http ?? Shared.Value;
        _timeout = timeout ?? DefaultTimeout;
    }

    // One client for the process when none is injected: HttpClient is meant to be reused.
    private static readonly Lazy<HttpClient> Shared = new(() => new HttpClient { Timeout = Timeout.InfiniteTimeSpan });

    /// <summary>GETs <paramref name="url"/> and returns the body; null for a 404 when <paramref name="notFoundIsNull"/>.</summary>
    public async Task<string?> GetAsync(Uri url, IReadOnlyDictionary<string, string>? headers, bool notFoundIsNull, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/json");
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(k, v);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = await ReadBodyAsync(response, url, timeout.Token);
            if (response.StatusCode == HttpStatusCode.NotFound && notFoundIsNull) return null;
            if (!response.IsSuccessStatusCode)
            {
                var hint = response.StatusCode switch
                {
                    HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => " (wrong or missing API key? pass --api-key)",
                    HttpStatusCode.NotFound => " (no such trace, or not this kind of server?)",
                    _ => "",
                };
                throw new TraceViewerException($"GET {url}: {(int)response.StatusCode} {response.ReasonPhrase}{hint}" + (body.Length > 0 ? $": {JsonDocuments.Snippet(body)}" : ""));
            }
            return body;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TraceViewerException($"GET {url}: no answer within {_timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            throw new TraceViewerException($"GET {url}: {e.Message}", e);
        }
    }

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, Uri url, CancellationToken ct)
    {
        if (response.Content.Headers.ContentLength > MaxBodyBytes)
            throw new TraceViewerException($"GET {url}: the answer is {response.Content.Headers.ContentLength} bytes, more than the {MaxBodyBytes >> 20} MiB a trace may be");
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + n > MaxBodyBytes)
                throw new TraceViewerException($"GET {url}: the answer is more than the {MaxBodyBytes >> 20} MiB a trace may be");
            buffer.Write(chunk, 0, n);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary><paramref name="baseUrl"/> with <paramref name="path"/> appended, keeping any path the base already has.</summary>
    public static Uri Combine(Uri baseUrl, string path) => new(baseUrl.ToString().TrimEnd('/') + "/" + path.TrimStart('/'));

    /// <summary>Checks a user-given trace id before it goes into a URL.</summary>
    public static string RequireTraceId(string traceId) =>
        TraceIds.IsValid(traceId) ? traceId.ToLowerInvariant() : throw new TraceViewerException($"'{traceId}' is not a trace id (1 to 32 hex digits)");
}
