using Nerdbox.TraceViewer.Model;
using Nerdbox.TraceViewer.Rendering;
using Nerdbox.TraceViewer.Sources;

namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// What <c>trace show</c> does with a source: reads the newest trace and renders it (the markdown format
/// holds both the tree with its critical path and the Gantt chart). A source may only raise
/// <see cref="TraceViewerException"/>; a trace it returned always renders.
/// </summary>
internal static class TraceViewing
{
    public static void ReadAndRender(ITraceSource source)
    {
        TraceModel trace;
        try
        {
            trace = source.GetAsync(null, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (TraceViewerException e) when (e.Message.Length > 0)
        {
            return;
        }
        _ = TraceRendering.Render(trace, "markdown");
    }
}

/// <summary>A trace file, as <c>trace show --source file:F</c> reads it: OTLP JSON (one or more documents, bare or wrapped) or Jaeger v1 JSON.</summary>
internal sealed class TraceFileHarness : IFuzzHarness
{
    private static readonly Lazy<string> File = new(() => Path.Combine(Scratch.Directory("trace-file"), "trace.json"));

    public string Name => "trace-file";
    public string Input => "a trace file: OTLP JSON (one or more documents) or Jaeger v1 JSON";

    public void Run(byte[] input)
    {
        System.IO.File.WriteAllBytes(File.Value, input);
        TraceViewing.ReadAndRender(new OtlpFileSource(File.Value));
    }
}

/// <summary>An HTTP trace source's answer: the input is the body of a 200 answer to whatever the source asks.</summary>
internal sealed class TraceAnswerHarness(string name, string input, Func<HttpClient, ITraceSource> source) : IFuzzHarness
{
    /// <summary>The service the "latest trace" searches ask for; the seeds' own traces are of it.</summary>
    public const string Service = "nerdbox";

    public string Name => name;
    public string Input => input;

    public void Run(byte[] body)
    {
        using var http = new HttpClient(new Answer(body));
        TraceViewing.ReadAndRender(source(http));
    }

    /// <summary>Answers every request with the body, as the server would: 200, JSON.</summary>
    private sealed class Answer(byte[] body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = content, RequestMessage = request });
        }
    }
}
