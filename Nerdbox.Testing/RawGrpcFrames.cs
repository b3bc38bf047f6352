using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Nerdbox.Testing;

/// <summary>
/// gRPC calls sent as raw HTTP/2 requests, so that their framing can be wrong on purpose: the body is sent as given,
/// and the answer is the call's status from its trailers.
/// </summary>
public static class RawGrpcFrames
{
    /// <summary>One length-prefixed, uncompressed gRPC message.</summary>
    public static byte[] Frame(byte[] message)
    {
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>Posts <paramref name="body"/> as a gRPC call to <paramref name="baseAddress"/> + <paramref name="path"/>; its grpc-status and grpc-message.</summary>
    public static async Task<(int Code, string Message)> CallAsync(HttpClient http, string baseAddress, string path, byte[] body,
        params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, baseAddress.TrimEnd('/') + path)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await http.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"{path}: HTTP {(int)response.StatusCode}, where a gRPC server answers 200 with a status in trailers");
        await response.Content.ReadAsByteArrayAsync();
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var s) ? s.Single() : "(none)";
        var message = response.TrailingHeaders.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.Single()) : "";
        return (int.Parse(status, CultureInfo.InvariantCulture), message);
    }
}
