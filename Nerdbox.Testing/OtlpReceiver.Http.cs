using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Microsoft.AspNetCore.Http;
using Nerdbox.Api.Otlp;

namespace Nerdbox.Testing;

/// <summary>
/// The OTLP/HTTP face: <c>POST /v1/traces</c> in protobuf or JSON (answered in the request's encoding; a body that
/// does not parse is a 400 naming why), and logs and metrics kept as they came.
/// </summary>
public sealed partial class OtlpReceiver
{
    private static readonly JsonFormatter ResponseJson = new(JsonFormatter.Settings.Default);

    private async Task HandleHttpAsync(HttpContext context)
    {
        var contentType = context.Request.ContentType ?? "";
        var json = contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
        if (!json && !contentType.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        ExportTraceServiceRequest request;
        try
        {
            var body = await ReadBodyAsync(context);
            request = json ? OtlpJson.Parse(System.Text.Encoding.UTF8.GetString(body)) : ExportTraceServiceRequest.Parser.ParseFrom(body);
        }
        catch (Exception e) when (e is OtlpJsonException or InvalidProtocolBufferException)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"not an OTLP trace export request: {e.Message}", context.RequestAborted);
            return;
        }
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
        if (json)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(ResponseJson.Format(response), context.RequestAborted);
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
        await KeepSignalAsync(signal, context);
        Pulse();
    }

    /// <summary>
    /// Keeps a logs or metrics request as it came (<see cref="SignalRequests"/>) and answers it with an empty
    /// protobuf body, which is an empty <c>Export*ServiceResponse</c>; returns the body for any further reading.
    /// </summary>
    private async Task<byte[]> KeepSignalAsync(string signal, HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        lock (_lock) _signals.Add(new SignalRequest(signal, headers, body));
        context.Response.ContentType = "application/x-protobuf";
        return body;
    }
}
