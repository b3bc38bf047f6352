using System.Buffers.Binary;
using System.Globalization;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>gRPC over HTTP/2 as the agent writes it: length-prefixed messages, and a call's status in trailers.</summary>
internal static class GrpcWire
{
    public const string ContentType = "application/grpc";
    public const int PrefixBytes = 5;

    /// <summary>One uncompressed message with its five-byte prefix.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message)
    {
        var frame = new byte[PrefixBytes + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame.AsSpan(PrefixBytes));
        return frame;
    }

    /// <summary>Sets the status trailers; a response not started yet gets its headers from this call too.</summary>
    public static void SetStatus(HttpContext http, int code, string message)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = ContentType;
        }
        http.Response.AppendTrailer("grpc-status", code.ToString(CultureInfo.InvariantCulture));
        if (message.Length > 0) http.Response.AppendTrailer("grpc-message", Uri.EscapeDataString(message));
    }

    /// <summary>
    /// The deadline a <c>grpc-timeout</c> header asks for (digits, then one of H M S m u n), or null when there is
    /// none; false when the header is there but not in that form.
    /// </summary>
    public static bool TryParseTimeout(string? header, out TimeSpan? timeout)
    {
        timeout = null;
        if (string.IsNullOrEmpty(header)) return true;
        if (header.Length is < 2 or > 9 ||
            !long.TryParse(header.AsSpan(0, header.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
            return false;
        double? ms = header[^1] switch
        {
            'H' => amount * 3_600_000.0,
            'M' => amount * 60_000.0,
            'S' => amount * 1_000.0,
            'm' => amount,
            'u' => amount / 1_000.0,
            'n' => amount / 1_000_000.0,
            _ => null,
        };
        if (ms is null) return false;
        timeout = TimeSpan.FromMilliseconds(Math.Min(ms.Value, int.MaxValue - 1));
        return true;
    }
}
