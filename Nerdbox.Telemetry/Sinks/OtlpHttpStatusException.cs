using System.Net;

namespace Nerdbox.Telemetry.Sinks;

/// <summary>An OTLP/HTTP destination answered with an error status, and maybe with <c>Retry-After</c>.</summary>
public sealed class OtlpHttpStatusException(HttpStatusCode status, string? reason, TimeSpan? retryAfter)
    : HttpRequestException($"HTTP {(int)status} {reason}", null, status)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>The statuses the OTLP spec retries: 429, 502, 503, 504.</summary>
    public RetryVerdict Verdict => (int)status is 429 or 502 or 503 or 504 ? RetryVerdict.Yes(RetryAfter) : RetryVerdict.No;
}
