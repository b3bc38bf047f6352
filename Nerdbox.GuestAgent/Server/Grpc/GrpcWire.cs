using System.Buffers.Binary;
using System.Globalization;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

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

    /// <summary>What a unary call's body held: its one message and that message's flag, or the fault that kept it out.</summary>
    public enum BodyFault { None, TooLarge, NoMessage, NotOneMessage }

    public readonly record struct SingleMessage(BodyFault Fault, byte Flag, byte[] Message);

    /// <summary>
    /// Reads a unary call's whole body from Kestrel, never more than one message of <paramref name="maxMessageBytes"/> and
    /// its prefix, and takes its one message out. Each caller answers the faults with its own protocol's statuses.
    /// </summary>
    public static async Task<SingleMessage> ReadSingleMessageAsync(HttpRequest request, int maxMessageBytes, CancellationToken ct)
    {
        byte[]? body;
        try
        {
            body = await BoundedBody.ReadAsync(request.Body, PrefixBytes + maxMessageBytes, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body = null;
        }
        return TakeSingleMessage(body, maxMessageBytes);
    }

    /// <summary>A unary call's one message out of its whole body; a null body was longer than its bound.</summary>
    public static SingleMessage TakeSingleMessage(byte[]? body, int maxMessageBytes)
    {
        if (body is null) return new(BodyFault.TooLarge, 0, []);
        if (body.Length < PrefixBytes) return new(BodyFault.NoMessage, 0, []);
        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        if (length > maxMessageBytes) return new(BodyFault.TooLarge, 0, []);
        if (PrefixBytes + (long)length != body.Length) return new(BodyFault.NotOneMessage, 0, []);
        return new(BodyFault.None, body[0], body[PrefixBytes..]);
    }

    /// <summary>The response headers of every call on the host channel.</summary>
    public static readonly KeyValuePair<string, string>[] ResponseHeaders = [new("content-type", ContentType)];

    /// <summary>A call's status as trailers, after any the method set.</summary>
    public static List<KeyValuePair<string, string>> StatusTrailers(int code, string message, Metadata? trailers)
    {
        List<KeyValuePair<string, string>> fields = trailers is null ? [] : Fields(trailers);
        fields.Add(new("grpc-status", code.ToString(CultureInfo.InvariantCulture)));
        if (message.Length > 0) fields.Add(new("grpc-message", Uri.EscapeDataString(message)));
        return fields;
    }

    /// <summary>Metadata as header fields, <c>-bin</c> values in base64.</summary>
    public static List<KeyValuePair<string, string>> Fields(Metadata metadata) =>
        [.. metadata.Select(e => new KeyValuePair<string, string>(e.Key, e.IsBinary ? Convert.ToBase64String(e.ValueBytes) : e.Value))];

    /// <summary>Sets the status trailers on a Kestrel response; one not started yet gets its headers from this call too.</summary>
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
