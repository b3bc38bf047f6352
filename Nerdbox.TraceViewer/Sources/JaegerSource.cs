using System.Globalization;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// Jaeger's v1 query API (the one its UI uses): <c>GET /api/traces/{id}</c>, and for the newest
/// trace <c>GET /api/traces?service=…&amp;start=…&amp;end=…</c> (microseconds) over <see cref="Lookback"/>.
/// </summary>
public sealed class JaegerSource(Uri baseUrl, string? service = null, HttpClient? http = null, TimeSpan? timeout = null) : ITraceSource
{
    private readonly HttpTraceFetcher _fetch = new(http, timeout);

    /// <summary>How far back "latest" searches.</summary>
    public TimeSpan Lookback { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How many traces a "latest" search asks for before picking the newest.</summary>
    public int SearchLimit { get; init; } = 20;

    public string Description => $"jaeger {baseUrl}";

    public async Task<TraceModel> GetAsync(string? traceId, CancellationToken cancellationToken)
    {
        Uri url;
        if (traceId is not null)
        {
            url = HttpTraceFetcher.Combine(baseUrl, "api/traces/" + HttpTraceFetcher.RequireTraceId(traceId));
        }
        else
        {
            if (service is null) throw new TraceViewerException($"{Description}: finding the latest trace needs a service name (--service)");
            var end = DateTimeOffset.UtcNow;
            url = HttpTraceFetcher.Combine(baseUrl, string.Create(CultureInfo.InvariantCulture,
                $"api/traces?service={Uri.EscapeDataString(service)}&start={(end - Lookback).ToUnixTimeMilliseconds() * 1000}&end={end.ToUnixTimeMilliseconds() * 1000}&limit={SearchLimit}"));
        }
        var body = await _fetch.GetAsync(url, null, notFoundIsNull: false, cancellationToken);
        var origin = $"{Description} (GET {url.PathAndQuery})";
        var spans = JaegerJson.Read(body!, origin);
        if (spans.Count == 0 && traceId is null)
            throw new TraceViewerException($"{Description}: no traces for service '{service}' in the last {Lookback.TotalMinutes:0} minutes");
        return TraceBuilder.Build(spans, traceId, service, origin);
    }
}
