using Nerdbox.TraceViewer.Model;
namespace Nerdbox.TraceViewer.Sources;

/// <summary>
/// A trace saved to a file: OTLP JSON as the file sink writes it or any OTLP tool exports it (one or
/// more documents, bare or under Jaeger v3's <c>result</c> / Aspire's <c>data</c>), or Jaeger v1 JSON
/// as its API returns it or its UI downloads it. The format is recognised from the content.
/// </summary>
public sealed class OtlpFileSource(string path, string? service = null) : ITraceSource
{
    public string Description => $"file {path}";

    public async Task<TraceModel> GetAsync(string? traceId, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TraceViewerException($"{Description}: cannot read it: {e.Message}", e);
        }
        var docs = JsonDocuments.Parse(text, Description);
        var spans = JaegerJson.Recognises(docs) && !OtlpEnvelope.Recognises(docs)
            ? JaegerJson.Read(docs, text, Description)
            : OtlpEnvelope.Read(docs, text, Description);
        return TraceBuilder.Build(spans, traceId, service, Description);
    }
}
