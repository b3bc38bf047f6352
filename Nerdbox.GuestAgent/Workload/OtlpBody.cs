using System.IO.Compression;

namespace Nerdbox.GuestAgent.Workload;

/// <summary>A request body read whole but never beyond a bound, and gzip undone under the same bound.</summary>
internal static class OtlpBody
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
