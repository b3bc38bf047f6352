using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// Where a trace is read from: the run just made, an OTLP JSON file, Jaeger (v1 or v3 API), or the
/// Aspire dashboard. Each source normalises to a <see cref="TraceModel"/>, so rendering and analysis
/// never depend on where the trace came from.
/// </summary>
/// <remarks>
/// Failures the user can act on (unreachable server, unknown trace, malformed data) are thrown as
/// <see cref="TraceViewerException"/> naming the source and what was wrong. Network calls time out.
/// </remarks>
public interface ITraceSource
{
    /// <summary>Human-readable name for messages, e.g. <c>jaeger http://localhost:16686</c>.</summary>
    string Description { get; }

    /// <summary>
    /// Reads trace <paramref name="traceId"/> (hex), or with null the newest trace of the source's
    /// configured service (every service when none is configured and the source allows it).
    /// </summary>
    Task<TraceModel> GetAsync(string? traceId, CancellationToken cancellationToken);
}
