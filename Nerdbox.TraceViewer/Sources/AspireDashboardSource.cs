using System.Globalization;
using Nerdbox.TraceViewer.Model;

namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// The Aspire dashboard's telemetry API, which answers in OTLP JSON under <c>data</c>:
/// <c>GET /api/telemetry/traces/{id}</c>, and for the newest trace <c>GET /api/telemetry/traces?resource=NAME</c>.
/// The key, when the dashboard wants one, goes in the <c>x-api-key</c> header.
/// </summary>
public sealed class AspireDashboardSource(Uri baseUrl, string? service = null, string? apiKey = null, HttpClient? http = null, TimeSpan? timeout = null) : ITraceSource
{
    private readonly HttpTraceFetcher _fetch = new(http, timeout);

    /// <summary>How many traces a "latest" listing asks for before picking the newest.</summary>
    public int SearchLimit { get; init; } = 100;

    public string Description => $"aspire {baseUrl}";

    public async Task<TraceModel> GetAsync(string? traceId, CancellationToken cancellationToken)
    {
        var url = traceId is not null
            ? HttpTraceFetcher.Combine(baseUrl, "api/telemetry/traces/" + HttpTraceFetcher.RequireTraceId(traceId))
            : HttpTraceFetcher.Combine(baseUrl, "api/telemetry/traces?limit=" + SearchLimit.ToString(CultureInfo.InvariantCulture)
                + (service is null ? "" : "&resource=" + Uri.EscapeDataString(service)));
        var headers = apiKey is null ? null : new Dictionary<string, string> { ["x-api-key"] = apiKey };
        var origin = $"{Description} (GET {url.PathAndQuery})";
        var body = await _fetch.GetAsync(url, headers, notFoundIsNull: true, cancellationToken)
            ?? throw new TraceViewerException(traceId is not null
                ? $"{Description}: trace {traceId} not found (404)"
                : $"{Description}: the dashboard knows no resource '{service}' (404)");
        var spans = OtlpEnvelope.Read(body, origin);
        if (spans.Count == 0 && traceId is null)
            throw new TraceViewerException($"{Description}: the dashboard has no traces" + (service is null ? "" : $" for resource '{service}'"));
        // The dashboard filters by resource already; its resource names need not equal service.name, so don't filter again.
        return TraceBuilder.Build(spans, traceId, null, origin);
    }
}
