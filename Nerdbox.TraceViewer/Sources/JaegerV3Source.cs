using System.Globalization;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// Jaeger's v3 query API, which answers in OTLP JSON under <c>result</c>: <c>GET /api/v3/traces/{id}</c>,
/// and for the newest trace a search by service over <see cref="Lookback"/>
/// (<c>query.service_name</c>, <c>query.start_time_min/max</c> as RFC 3339).
/// </summary>
public sealed class JaegerV3Source(Uri baseUrl, string? service = null, HttpClient? http = null, TimeSpan? timeout = null) : ITraceSource
{
    private readonly HttpTraceFetcher _fetch = new(http, timeout);

    public TimeSpan Lookback { get; init; } = TimeSpan.FromHours(1);
    public int SearchLimit { get; init; } = 20;

    public string Description => $"jaeger-v3 {baseUrl}";

    public async Task<TraceModel> GetAsync(string? traceId, CancellationToken cancellationToken)
    {
        Uri url;
        if (traceId is not null)
        {
            url = HttpTraceFetcher.Combine(baseUrl, "api/v3/traces/" + HttpTraceFetcher.RequireTraceId(traceId));
        }
        else
        {
            if (service is null) throw new TraceViewerException($"{Description}: finding the latest trace needs a service name (--service)");
            var end = DateTimeOffset.UtcNow;
            // search_depth is the current name of the result limit; older servers called it num_traces.
            url = HttpTraceFetcher.Combine(baseUrl, string.Create(CultureInfo.InvariantCulture,
                $"api/v3/traces?query.service_name={Uri.EscapeDataString(service)}&query.start_time_min={Rfc3339(end - Lookback)}&query.start_time_max={Rfc3339(end)}&query.search_depth={SearchLimit}&query.num_traces={SearchLimit}"));
        }
        var origin = $"{Description} (GET {url.PathAndQuery})";
        // v3 answers 404 both for an unknown trace and for a search that found nothing.
        var body = await _fetch.GetAsync(url, null, notFoundIsNull: true, cancellationToken)
            ?? throw new TraceViewerException(traceId is not null
                ? $"{Description}: trace {traceId} not found (404)"
                : $"{Description}: no traces for service '{service}' in the last {Lookback.TotalMinutes:0} minutes");
        return TraceBuilder.Build(OtlpEnvelope.Read(body, origin), traceId, service, origin);
    }

    private static string Rfc3339(DateTimeOffset t) => Uri.EscapeDataString(t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
}
