using System.IO.Compression;

namespace Nerdbox.GuestAgent.Server;

/// <summary>A request body read whole but never beyond a bound, and gzip undone under the same bound.</summary>
internal static class BoundedBody
{
    /// <summary>The body, or null when it is longer than <paramref name="max"/> bytes.</summary>
    public static async Task<byte[]?> ReadAsync(Stream body, int max, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var n = await body.ReadAsync(chunk, ct);
            if (n == 0) return buffer.ToArray();
            if (buffer.Length + n > max) return null;
            buffer.Write(chunk, 0, n);
        }
    }

    /// <summary>
    /// Reads and discards what is left of a refused request's body, up to <paramref name="max"/> bytes; false when
    /// more is left (or it cannot be read). On HTTP/1.1 an unread body would otherwise make the server close the
    /// connection with data unread, which can reset it before the client reads the answer.
    /// </summary>
    public static async Task<bool> DrainAsync(Stream body, int max, CancellationToken ct)
    {
        var chunk = new byte[16 * 1024];
        long total = 0;
        try
        {
            while (total <= max)
            {
                var n = await body.ReadAsync(chunk, ct);
                if (n == 0) return true;
                total += n;
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException) { }
        return false;
    }

    /// <summary>The gunzipped bytes, or null when they are longer than <paramref name="max"/>; not gzip is an <see cref="InvalidDataException"/>.</summary>
    public static byte[]? Gunzip(byte[] compressed, int max)
    {
        using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var n = gzip.Read(chunk);
            if (n == 0) return output.ToArray();
            if (output.Length + n > max) return null;
            output.Write(chunk, 0, n);
        }
    }
}
