using Nerdbox.GuestAgent.Server;
using Microsoft.AspNetCore.Http.Features;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>
/// OTLP/HTTP (<c>POST /v1/traces</c>, <c>/v1/logs</c>; <c>/v1/metrics</c> answered 404 with why): protobuf or JSON
/// bodies, gzip or not, at most <see cref="OtlpExport.MaxRequestBytes"/>. Failures are answered as OTLP/HTTP
/// says: 400, 413 or 415 with a <c>google.rpc.Status</c> body in the request's encoding.
/// </summary>
internal static class OtlpHttpEndpoint
{
    public static RequestDelegate Handler(OtlpSignal signal) => http => HandleAsync(http, signal);

    /// <summary>An answer to a request refused whole, in the request's encoding.</summary>
    public static Task AnswerRefusalAsync(HttpContext http, OtlpExport.Answer answer) =>
        WriteRefusalAsync(http, answer, (http.Request.ContentType ?? "").StartsWith("application/json", StringComparison.OrdinalIgnoreCase));

    private static async Task WriteRefusalAsync(HttpContext http, OtlpExport.Answer answer, bool json)
    {
        if (!await BoundedBody.DrainAsync(http.Request.Body, OtlpExport.MaxRequestBytes, http.RequestAborted))
            http.Response.Headers.Connection = "close";
        http.Response.StatusCode = answer.Refusal switch
        {
            OtlpRefusal.TooLarge => StatusCodes.Status413PayloadTooLarge,
            OtlpRefusal.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
            OtlpRefusal.NotRelayed or OtlpRefusal.NotServed => StatusCodes.Status404NotFound,
            OtlpRefusal.Busy => StatusCodes.Status429TooManyRequests,
            _ => StatusCodes.Status400BadRequest,
        };
        http.Response.ContentType = json ? "application/json" : "application/x-protobuf";
        await http.Response.Body.WriteAsync(OtlpExport.StatusBody(OtlpExport.GrpcCode(answer.Refusal), answer.Message, json));
    }

    private static async Task HandleAsync(HttpContext http, OtlpSignal signal)
    {
        var containerId = WorkloadConnection.Of(http)!.ContainerId;
        var mediaType = (http.Request.ContentType ?? "").Split(';')[0].Trim();
        var json = mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase);
        var answer = await ReadAndExportAsync(http, containerId, signal, mediaType, json);
        if (answer.Refusal != OtlpRefusal.None)
        {
            await WriteRefusalAsync(http, answer, json);
            return;
        }
        http.Response.StatusCode = StatusCodes.Status200OK;
        if (json)
        {
            http.Response.ContentType = "application/json";
            await http.Response.Body.WriteAsync(OtlpExport.JsonResponse(answer));
        }
        else
        {
            http.Response.ContentType = "application/x-protobuf";
            await http.Response.Body.WriteAsync(Google.Protobuf.MessageExtensions.ToByteArray(OtlpExport.Response(answer)));
        }
    }

    private static async Task<OtlpExport.Answer> ReadAndExportAsync(HttpContext http, string containerId, OtlpSignal signal, string mediaType, bool json)
    {
        if (signal == OtlpSignal.Metrics) return OtlpExport.Refuse(containerId, OtlpRefusal.NotRelayed, OtlpExport.NotRelayedMessage);
        if (!json && !mediaType.Equals("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
            return OtlpExport.Refuse(containerId, OtlpRefusal.UnsupportedMediaType, $"content type '{QuotedText.Cut(mediaType)}' is neither application/x-protobuf nor application/json");
        var encoding = http.Request.Headers.ContentEncoding.ToString();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            return OtlpExport.Refuse(containerId, OtlpRefusal.UnsupportedMediaType, $"content encoding '{QuotedText.Cut(encoding)}' is neither gzip nor identity");
        const int max = OtlpExport.MaxRequestBytes;
        var tooLarge = $"the request is larger than {max} bytes";
        if (http.Request.ContentLength > max) return OtlpExport.Refuse(containerId, OtlpRefusal.TooLarge, tooLarge);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = max + 1L;

        byte[]? body;
        try
        {
            body = await BoundedBody.ReadAsync(http.Request.Body, max, http.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body = null;
        }
        if (body is null) return OtlpExport.Refuse(containerId, OtlpRefusal.TooLarge, tooLarge);
        if (gzip)
        {
            try
            {
                body = BoundedBody.Gunzip(body, max);
            }
            catch (InvalidDataException e)
            {
                return OtlpExport.Refuse(containerId, OtlpRefusal.Malformed, "the body is not gzip: " + e.Message);
            }
            if (body is null) return OtlpExport.Refuse(containerId, OtlpRefusal.TooLarge, $"the request is larger than {max} bytes once decompressed");
        }
        return OtlpExport.Export(containerId, signal, body, json);
    }
}
