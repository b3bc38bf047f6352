using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Microsoft.AspNetCore.Http;

namespace Nerdbox.Testing;

/// <summary>The OTLP/HTTP face: <c>POST /v1/traces</c> (protobuf), and logs and metrics kept as they came.</summary>
public sealed partial class OtlpReceiver
{
    private async Task HandleHttpAsync(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) != true)
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        var request = ExportTraceServiceRequest.Parser.ParseFrom(await ReadBodyAsync(context));
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        ExportTraceServiceResponse? response;
        Rejection? rejection;
        try
        {
            (response, rejection) = await HandleAsync(request, headers, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return; // the client gave up on a stalled request
        }
        if (response is null)
        {
            rejection ??= Rejection.Default;
            context.Response.StatusCode = rejection.HttpStatus;
            if (rejection.RetryAfter is { } after)
                context.Response.Headers.RetryAfter = rejection.RetryAfterAsDate
                    ? DateTimeOffset.UtcNow.Add(after).ToString("R")
                    : ((long)Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return;
        }
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted);
    }

    /// <summary>The request body, gunzipped when the client says it is gzip.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        var gzip = string.Equals(context.Request.Headers.ContentEncoding.ToString(), "gzip", StringComparison.OrdinalIgnoreCase);
        await using (var input = gzip ? new System.IO.Compression.GZipStream(context.Request.Body, System.IO.Compression.CompressionMode.Decompress) : context.Request.Body)
            await input.CopyToAsync(body, context.RequestAborted);
        return body.ToArray();
    }

    private async Task HandleSignalAsync(string signal, HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        lock (_lock) _signals.Add(new SignalRequest(signal, headers, body));
        Pulse();
        context.Response.ContentType = "application/x-protobuf"; // an empty body is an empty Export*ServiceResponse
    }
}
