using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Nerdbox.Http2;
using Nerdbox.Http2.Frames;

namespace Nerdbox.Tests.Http2;

/// <summary>
/// <see cref="Http2Connection"/> over real unix-domain sockets: first with .NET's own HTTP/2 client (h2c with prior
/// knowledge), for what a well-behaved peer sees, flow control both ways included; then with a peer that writes
/// frames by hand, for each fault the protocol names and the answer it asks for (RST_STREAM or GOAWAY, with its code),
/// after which the server must end or serve on as told, and never throw.
/// </summary>
public sealed class Http2ConnectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Patience = ServedConnection.Patience;

    private static Http2ServerOptions Options(int maxRequestBodyBytes = 64 * 1024) => new() { MaxRequestBodyBytes = maxRequestBodyBytes };

    private static KeyValuePair<string, string> F(string name, string value) => new(name, value);

    /// <summary>
    /// Answers with the request's method, path and x-request-id as headers, its body as the body, and its length as a
    /// trailer; a body over the bound gets a trailers-only 413.
    /// </summary>
    private static async Task Echo(Http2Stream stream)
    {
        var body = await stream.ReadBodyAsync(stream.Aborted);
        if (body.Bytes is not { } bytes)
        {
            await stream.SendTrailersAsync(413, [], [F("x-too-large", "true")], stream.Aborted);
            return;
        }
        await stream.SendHeadersAsync(200, [
            F("content-type", "application/octet-stream"),
            F("x-method", stream.Method),
            F("x-path", stream.Path),
            F("x-request-id", stream.Field("x-request-id") ?? ""),
        ], stream.Aborted);
        await stream.SendDataAsync(bytes, stream.Aborted);
        await stream.SendTrailersAsync(200, [], [F("x-body-bytes", bytes.Length.ToString(CultureInfo.InvariantCulture))], stream.Aborted);
    }

    /// <summary>Bytes that differ from one offset to the next, so that a lost or repeated piece shows.</summary>
    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = (byte)(i * 31 + (i >> 9));
        return bytes;
    }

    private static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        var common = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(common == expected.Length && actual.Length == expected.Length,
            $"{actual.Length} bytes arrived of {expected.Length}; they differ from offset {common}");
    }

    // The .NET client.

    [Fact]
    public async Task A_post_is_echoed_with_its_headers_body_and_trailers()
    {
        await using var server = new H2cServer(Echo, Options());
        using var request = H2cServer.Request(HttpMethod.Post, "/echo/one", "hello, agent"u8.ToArray());
        request.Headers.Add("x-request-id", "one");

        using var response = await server.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal(["POST"], response.Headers.GetValues("x-method"));
        Assert.Equal(["/echo/one"], response.Headers.GetValues("x-path"));
        Assert.Equal(["one"], response.Headers.GetValues("x-request-id"));
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("hello, agent", body);
        Assert.Equal(["12"], response.TrailingHeaders.GetValues("x-body-bytes"));
    }

    [Fact]
    public async Task Fifty_requests_open_at_once_on_one_connection_are_each_answered_with_their_own_body()
    {
        const int Requests = 50;
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new H2cServer(async stream =>
        {
            // No handler answers before every request is in: all fifty streams are open together.
            if (Interlocked.Increment(ref arrived) == Requests) allArrived.SetResult();
            await allArrived.Task.WaitAsync(Patience, stream.Aborted);
            await Echo(stream);
        }, Options());

        var answers = await Task.WhenAll(Enumerable.Range(0, Requests).Select(async i =>
        {
            using var request = H2cServer.Request(HttpMethod.Post, $"/echo/{i}", Encoding.UTF8.GetBytes($"request {i}"));
            using var response = await server.Client.SendAsync(request, Ct);
            return (Index: i, response.StatusCode, Path: response.Headers.GetValues("x-path").Single(), Body: await response.Content.ReadAsStringAsync(Ct));
        }));

        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.OK, a.StatusCode);
            Assert.Equal($"/echo/{a.Index}", a.Path);
            Assert.Equal($"request {a.Index}", a.Body);
        });
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task A_4_MiB_answer_arrives_whole_through_the_clients_64_KiB_initial_window()
    {
        var payload = Pattern(4 << 20);
        await using var server = new H2cServer(async stream =>
        {
            await stream.ReadBodyAsync(stream.Aborted);
            await stream.SendHeadersAsync(200, [], stream.Aborted);
            await stream.SendDataAsync(payload, stream.Aborted);
            await stream.SendTrailersAsync(200, [], [F("x-sent", "all")], stream.Aborted);
        }, Options());
        using var request = H2cServer.Request(HttpMethod.Get, "/large");

        using var response = await server.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsByteArrayAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertSameBytes(payload, body);
        Assert.Equal(["all"], response.TrailingHeaders.GetValues("x-sent"));
    }

    [Theory]
    [InlineData(65_535)]
    [InlineData(1 << 20)]
    public async Task A_3_MiB_request_body_arrives_whole_through_the_servers_receive_window(int receiveWindow)
    {
        var payload = Pattern(3 << 20);
        await using var server = new H2cServer(Echo, Options(maxRequestBodyBytes: 8 << 20) with { ReceiveWindow = receiveWindow });
        using var request = H2cServer.Request(HttpMethod.Post, "/upload", payload);

        using var response = await server.Client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsByteArrayAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([payload.Length.ToString(CultureInfo.InvariantCulture)], response.TrailingHeaders.GetValues("x-body-bytes"));
        AssertSameBytes(payload, body);
    }

    [Fact]
    public async Task A_body_over_the_bound_reads_as_too_large_and_the_connection_serves_the_next_request()
    {
        await using var server = new H2cServer(Echo, Options(maxRequestBodyBytes: 1000));
        using var tooLarge = H2cServer.Request(HttpMethod.Post, "/big", Pattern(5000));
        using var small = H2cServer.Request(HttpMethod.Post, "/small", "ten bytes!"u8.ToArray());

        using var refused = await server.Client.SendAsync(tooLarge, Ct);
        using var answered = await server.Client.SendAsync(small, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal(["true"], refused.Headers.GetValues("x-too-large"));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("ten bytes!", await answered.Content.ReadAsStringAsync(Ct));
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task A_handler_that_throws_gets_its_stream_reset_and_the_connection_serves_on()
    {
        await using var server = new H2cServer(async stream =>
        {
            if (stream.Path != "/throw")
            {
                await Echo(stream);
                return;
            }
            await stream.ReadBodyAsync(stream.Aborted);
            throw new InvalidOperationException("the handler broke");
        }, Options());
        using var failing = H2cServer.Request(HttpMethod.Get, "/throw");
        using var next = H2cServer.Request(HttpMethod.Post, "/next", "still here"u8.ToArray());

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => server.Client.SendAsync(failing, Ct));
        using var answered = await server.Client.SendAsync(next, Ct);

        var reset = InnerOf<HttpProtocolException>(e);
        Assert.Equal((long)Http2ErrorCode.InternalError, reset.ErrorCode);
        Assert.Contains("failed: InvalidOperationException: the handler broke", server.Log);
        Assert.Equal("still here", await answered.Content.ReadAsStringAsync(Ct));
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task A_request_the_client_cancels_fires_the_handlers_aborted_token()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new H2cServer(async stream =>
        {
            if (stream.Path != "/wait")
            {
                await Echo(stream);
                return;
            }
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, stream.Aborted);
            }
            catch (OperationCanceledException)
            {
                aborted.SetResult();
            }
        }, Options());
        using var waiting = H2cServer.Request(HttpMethod.Get, "/wait");
        using var next = H2cServer.Request(HttpMethod.Post, "/next", "after"u8.ToArray());
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var sending = server.Client.SendAsync(waiting, cancel.Token);
        await started.Task.WaitAsync(Patience, Ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        await aborted.Task.WaitAsync(Patience, Ct);
        using var answered = await server.Client.SendAsync(next, Ct);
        Assert.Equal("after", await answered.Content.ReadAsStringAsync(Ct));
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task A_streaming_answer_of_many_small_flushed_messages_reaches_the_client_one_by_one()
    {
        const int Messages = 100;
        using var clientRead = new SemaphoreSlim(0);
        await using var server = new H2cServer(async stream =>
        {
            await stream.ReadBodyAsync(stream.Aborted);
            await stream.SendHeadersAsync(200, [], stream.Aborted);
            for (var i = 0; i < Messages; i++)
            {
                await stream.SendDataAsync(Encoding.UTF8.GetBytes($"message {i}\n"), stream.Aborted, flush: true);
                // The next message waits until the client has read this one, which only a flushed message lets it.
                if (!await clientRead.WaitAsync(Patience, stream.Aborted)) throw new TimeoutException($"the client did not get message {i}");
            }
            await stream.SendTrailersAsync(200, [], [F("x-messages", Messages.ToString(CultureInfo.InvariantCulture))], stream.Aborted);
        }, Options());
        using var request = H2cServer.Request(HttpMethod.Get, "/stream");

        using var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        for (var i = 0; i < Messages; i++)
        {
            Assert.Equal($"message {i}", await reader.ReadLineAsync(Ct).AsTask().WaitAsync(Patience, Ct));
            clientRead.Release();
        }

        Assert.Null(await reader.ReadLineAsync(Ct).AsTask().WaitAsync(Patience, Ct));
        Assert.Equal(["100"], response.TrailingHeaders.GetValues("x-messages"));
    }

    private static T InnerOf<T>(Exception e) where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is T found) return found;
        throw new Xunit.Sdk.XunitException($"no {typeof(T).Name} in {e}");
    }

    // A peer that writes frames by hand: faults of the whole connection.

    [Fact]
    public async Task A_connection_that_does_not_start_with_the_client_preface_gets_GOAWAY_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());

        await peer.SendRawAsync("GET / HTTP/1.1\r\nHost: agent\r\n\r\n"u8.ToArray());

        await AssertGoAwayAsync(peer, Http2ErrorCode.ProtocolError, "does not start with the HTTP/2 client preface");
    }

    [Fact]
    public async Task A_first_frame_other_than_SETTINGS_gets_GOAWAY_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());

        await peer.SendRawAsync([.. RawHttp2Peer.Preface, .. RawHttp2Peer.Frame(FrameType.Ping, 0, 0, new byte[8])]);

        await AssertGoAwayAsync(peer, Http2ErrorCode.ProtocolError, "first frame is Ping, not SETTINGS");
    }

    [Fact]
    public async Task A_frame_larger_than_16384_bytes_gets_GOAWAY_FRAME_SIZE_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        await peer.SendFrameAsync(FrameType.Data, 0, 1, new byte[16_385]);

        await AssertGoAwayAsync(peer, Http2ErrorCode.FrameSizeError, "16385 bytes is larger than the 16384");
    }

    [Fact]
    public async Task A_PRIORITY_frame_of_the_wrong_length_resets_an_opened_stream_and_ends_the_connection_on_one_never_opened()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/open"), endStream: false);

        // An opened stream is reset: the connection serves on.
        await peer.SendFrameAsync(FrameType.Priority, 0, 1, new byte[4]);
        Assert.Equal(Http2ErrorCode.FrameSizeError, await peer.ReadResetAsync(1));
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("GET", "/after"), endStream: true);
        Assert.Equal("200", (await peer.ReadResponseAsync(3)).Header(":status"));

        // A stream never opened may not be reset (RFC 9113 section 6.4): the connection ends.
        await peer.SendFrameAsync(FrameType.Priority, 0, 7, new byte[6]);
        await AssertGoAwayAsync(peer, Http2ErrorCode.FrameSizeError, "a PRIORITY frame of 6 bytes, not 5, on stream 7");
    }

    [Fact]
    public async Task DATA_on_stream_0_gets_GOAWAY_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        await peer.SendDataAsync(0, "stray"u8, endStream: false);

        await AssertGoAwayAsync(peer, Http2ErrorCode.ProtocolError, "Data frame on stream 0");
    }

    [Fact]
    public async Task A_header_block_that_does_not_decode_gets_GOAWAY_COMPRESSION_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        // An indexed field of index 0, which HPACK does not have.
        await peer.SendHeadersAsync(1, [0x80], endStream: true);

        await AssertGoAwayAsync(peer, Http2ErrorCode.CompressionError, "stream 1's header block does not decode");
    }

    [Fact]
    public async Task A_CONTINUATION_without_HEADERS_gets_GOAWAY_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        await peer.SendFrameAsync(FrameType.Continuation, FrameFlags.EndHeaders, 1, RawHttp2Peer.Request("GET", "/"));

        await AssertGoAwayAsync(peer, Http2ErrorCode.ProtocolError, "CONTINUATION frame on stream 1 follows no header block");
    }

    [Fact]
    public async Task A_frame_between_HEADERS_and_its_CONTINUATION_gets_GOAWAY_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        var block = RawHttp2Peer.Request("GET", "/");

        await peer.SendFrameAsync(FrameType.Headers, FrameFlags.EndStream, 1, block.AsSpan(0, 3));
        await peer.SendFrameAsync(FrameType.Ping, 0, 0, new byte[8]);

        await AssertGoAwayAsync(peer, Http2ErrorCode.ProtocolError, "Ping frame came in the middle of stream 1's header block");
    }

    [Fact]
    public async Task A_WINDOW_UPDATE_that_takes_the_connection_window_past_2_31_gets_GOAWAY_FLOW_CONTROL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        await peer.SendWindowUpdateAsync(0, 0x7FFF_FFFF);

        await AssertGoAwayAsync(peer, Http2ErrorCode.FlowControlError, "takes the connection's window past 2^31-1");
    }

    [Fact]
    public async Task A_stream_with_an_even_id_gets_GOAWAY_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        await peer.SendHeadersAsync(2, RawHttp2Peer.Request("GET", "/even"), endStream: true);

        await AssertGoAwayAsync(peer, Http2ErrorCode.ProtocolError, "opened stream 2, an even (server) stream id");
        Assert.Empty(peer.Server.Requests);
    }

    [Fact]
    public async Task A_padded_DATA_frame_whose_padding_is_its_whole_payload_gets_GOAWAY_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/padded"), endStream: false);

        await peer.SendFrameAsync(FrameType.Data, FrameFlags.Padded | FrameFlags.EndStream, 1, [4, 0, 0, 0]);

        await AssertGoAwayAsync(peer, Http2ErrorCode.ProtocolError, "padding is not shorter than its payload");
    }

    /// <summary>The server's GOAWAY has this code and names the problem, and ServeAsync ends without throwing.</summary>
    private static async Task AssertGoAwayAsync(RawHttp2Peer peer, Http2ErrorCode code, string problem)
    {
        var goAway = await peer.ReadGoAwayAsync();

        Assert.Equal(code, goAway.Code);
        Assert.Contains(problem, goAway.Debug);
        await peer.Server.EndedAsync();
        Assert.Null(await peer.ReadFrameAsync("the end of the connection after GOAWAY"));
    }

    // Frames the server answers.

    [Fact]
    public async Task A_PING_is_answered_with_an_ACK_carrying_the_same_payload()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        var opaque = "nerdbox!"u8.ToArray();

        await peer.SendFrameAsync(FrameType.Ping, 0, 0, opaque);

        var answer = await peer.NextAsync(f => f.Type == FrameType.Ping, "the PING's answer");
        Assert.True(answer.Has(FrameFlags.Ack), $"{answer} is not an acknowledgement");
        Assert.Equal(0, answer.StreamId);
        Assert.Equal(opaque, answer.Payload);
    }

    [Fact]
    public async Task The_server_announces_its_settings_first_and_acknowledges_each_of_the_clients()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options() with { MaxConcurrentStreams = 7, ReceiveWindow = 1 << 20 });

        var first = await peer.ReadFrameAsync("the server's SETTINGS");
        await peer.SendPrefaceAsync((SettingId.HeaderTableSize, 0), (SettingId.MaxFrameSize, 32_768));
        var firstAck = await peer.NextAsync(f => f.Type == FrameType.Settings, "the acknowledgement of the client's first SETTINGS");
        await peer.SendFrameAsync(FrameType.Settings, 0, 0, RawHttp2Peer.Settings((SettingId.InitialWindowSize, 1000)));
        var secondAck = await peer.NextAsync(f => f.Type == FrameType.Settings, "the acknowledgement of the client's second SETTINGS");

        Assert.NotNull(first);
        Assert.True(first is { Type: FrameType.Settings, StreamId: 0 } && !first.Has(FrameFlags.Ack), $"the server's first frame is {first}");
        var settings = Enumerable.Range(0, first.Payload.Length / 6).ToDictionary(
            i => (SettingId)BinaryPrimitives.ReadUInt16BigEndian(first.Payload.AsSpan(6 * i)),
            i => BinaryPrimitives.ReadUInt32BigEndian(first.Payload.AsSpan(6 * i + 2)));
        Assert.Equal(0u, settings[SettingId.EnablePush]);
        Assert.Equal(7u, settings[SettingId.MaxConcurrentStreams]);
        Assert.Equal(1u << 20, settings[SettingId.InitialWindowSize]);
        Assert.All([firstAck, secondAck], ack =>
        {
            Assert.True(ack.Has(FrameFlags.Ack), $"{ack} is not an acknowledgement");
            Assert.Empty(ack.Payload);
        });
    }

    [Fact]
    public async Task The_connections_receive_window_is_opened_to_the_configured_size_at_the_start()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options() with { ReceiveWindow = 1 << 20 });
        await peer.SendPrefaceAsync();

        var update = await peer.NextAsync(f => f.Type == FrameType.WindowUpdate, "the connection's WINDOW_UPDATE");

        Assert.Equal(0, update.StreamId);
        Assert.Equal((1u << 20) - 65_535, BinaryPrimitives.ReadUInt32BigEndian(update.Payload));
    }

    // Faults of one stream: it is reset, and the connection serves on.

    public static TheoryData<string, string[]> MalformedRequests => new()
    {
        { "the field name 'X-Upper' is not lowercase", [":method: GET", ":scheme: http", ":path: /bad", "X-Upper: 1"] },
        { "no :path", [":method: GET", ":scheme: http", ":authority: agent"] },
        { "the pseudo-header :path comes after a regular field", [":method: GET", ":scheme: http", "x-first: 1", ":path: /bad"] },
        { "the connection-specific field 'connection'", [":method: GET", ":scheme: http", ":path: /bad", "connection: keep-alive"] },
        { "te: 'gzip' (only 'trailers' is allowed)", [":method: GET", ":scheme: http", ":path: /bad", "te: gzip"] },
        { "content-length comes twice", [":method: POST", ":scheme: http", ":path: /bad", "content-length: 0", "content-length: 0"] },
        { "content-length '-1' is not a whole number", [":method: POST", ":scheme: http", ":path: /bad", "content-length: -1"] },
        // The headers end the stream: no body, against the length they state.
        { "a body of 0 bytes against a content-length of 3", [":method: POST", ":scheme: http", ":path: /bad", "content-length: 3"] },
    };

    [Theory]
    [InlineData(4, "a body of 4 bytes against a content-length of 5")]
    [InlineData(6, "a body past its content-length of 5")]
    public async Task A_body_that_does_not_match_its_content_length_gets_RST_STREAM_PROTOCOL_ERROR(int bodyBytes, string problem)
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/sized", F("content-length", "5")), endStream: false);
        await peer.SendDataAsync(1, new byte[bodyBytes], endStream: true);
        var code = await peer.ReadResetAsync(1);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("POST", "/exact", F("content-length", "5")), endStream: false);
        await peer.SendDataAsync(3, "exact"u8, endStream: true);
        var exact = await peer.ReadResponseAsync(3);

        Assert.Equal(Http2ErrorCode.ProtocolError, code);
        Assert.Contains($"stream 1 reset: malformed request on stream 1: {problem}", peer.Server.Log);
        Assert.Equal("exact", System.Text.Encoding.ASCII.GetString(exact.Body));
    }

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task A_malformed_request_gets_RST_STREAM_PROTOCOL_ERROR_and_the_connection_serves_the_next(string problem, string[] fields)
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();

        await peer.SendHeadersAsync(1, RawHttp2Peer.Block(fields.Select(ParseField)), endStream: true);
        var code = await peer.ReadResetAsync(1);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("GET", "/good"), endStream: true);
        var next = await peer.ReadResponseAsync(3);

        Assert.Equal(Http2ErrorCode.ProtocolError, code);
        Assert.Contains($"stream 1 reset: malformed request on stream 1: {problem}", peer.Server.Log);
        Assert.Equal("200", next.Header(":status"));
        Assert.Equal(["/good"], peer.Server.Requests);
    }

    private static KeyValuePair<string, string> ParseField(string field)
    {
        var colon = field.IndexOf(": ", 1, StringComparison.Ordinal);
        return F(field[..colon], field[(colon + 2)..]);
    }

    [Fact]
    public async Task A_WINDOW_UPDATE_of_0_on_a_stream_gets_RST_STREAM_PROTOCOL_ERROR_and_the_connection_serves_on()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/open"), endStream: false);

        await peer.SendWindowUpdateAsync(1, 0);
        var code = await peer.ReadResetAsync(1);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("GET", "/good"), endStream: true);
        var next = await peer.ReadResponseAsync(3);

        Assert.Equal(Http2ErrorCode.ProtocolError, code);
        Assert.Contains("stream 1 reset: a WINDOW_UPDATE of 0 on stream 1", peer.Server.Log);
        Assert.Equal("200", next.Header(":status"));
    }

    [Fact]
    public async Task A_stream_beyond_the_concurrent_stream_limit_gets_RST_STREAM_REFUSED_STREAM()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options() with { MaxConcurrentStreams = 2 });
        await peer.SendPrefaceAsync();

        // Two requests whose bodies have not ended keep their streams open; a third is one too many.
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/first"), endStream: false);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("POST", "/second"), endStream: false);
        await peer.SendHeadersAsync(5, RawHttp2Peer.Request("POST", "/third"), endStream: false);
        var code = await peer.ReadResetAsync(5);
        await peer.SendDataAsync(1, "one"u8, endStream: true);
        await peer.SendDataAsync(3, "two"u8, endStream: true);
        var first = await peer.ReadResponseAsync(1);
        var second = await peer.ReadResponseAsync(3);

        Assert.Equal(Http2ErrorCode.RefusedStream, code);
        Assert.Contains("stream 5 is beyond 2 streams at once", peer.Server.Log);
        Assert.Equal(("one", "two"), (first.Text, second.Text));
        Assert.DoesNotContain("/third", peer.Server.Requests);
    }

    [Fact]
    public async Task DATA_beyond_a_streams_receive_window_gets_RST_STREAM_FLOW_CONTROL_ERROR()
    {
        // A window under twice the largest frame: the server's WINDOW_UPDATEs, sent once half of it is used, cannot
        // keep ahead of one frame too many.
        const int Window = 16_384;
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options() with { ReceiveWindow = Window });
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/over"), endStream: false);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("POST", "/within"), endStream: false);

        // 8000 bytes leave stream 1 a window of 8384. Stream 3's 200 bytes take the connection past half its window,
        // so the connection's is opened again while stream 1's is not; then stream 1 gets one byte more than its window.
        await peer.SendDataAsync(1, new byte[8000], endStream: false);
        await peer.SendDataAsync(3, new byte[200], endStream: false);
        await peer.SendDataAsync(1, new byte[Window - 8000 + 1], endStream: false);
        var code = await peer.ReadResetAsync(1);
        await peer.SendDataAsync(3, "end"u8, endStream: true);
        var within = await peer.ReadResponseAsync(3);

        Assert.Equal(Http2ErrorCode.FlowControlError, code);
        Assert.Contains("stream 1 reset: DATA beyond stream 1's receive window", peer.Server.Log);
        Assert.Equal(203, within.Body.Length);
    }

    [Fact]
    public async Task A_receive_window_under_64_KiB_leaves_the_connection_the_64_KiB_window_the_protocol_gives_it()
    {
        // SETTINGS_INITIAL_WINDOW_SIZE sets only the streams' windows; the connection's starts at 65,535 bytes whatever
        // the settings (RFC 9113 section 6.9.2), and the server has no way to make it smaller.
        const int Window = 16_384;
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options() with { ReceiveWindow = Window });
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/first"), endStream: false);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("POST", "/second"), endStream: false);

        // Each stream within its own window; 24,384 bytes on the connection, well within its 65,535.
        await peer.SendDataAsync(1, new byte[8000], endStream: true);
        await peer.SendDataAsync(3, new byte[Window], endStream: true);
        var first = await peer.ReadResponseAsync(1);
        var second = await peer.ReadResponseAsync(3);

        Assert.Equal((8000, Window), (first.Body.Length, second.Body.Length));
    }

    [Fact]
    public async Task Trailers_and_DATA_still_in_flight_on_a_stream_the_server_answered_and_reset_are_ignored()
    {
        // The handler answers without waiting for the request's end, so the server resets the stream (NO_ERROR) to stop
        // the rest; what the client had sent by then must be ignored (RFC 9113 section 5.1, "closed").
        await using var peer = await RawHttp2Peer.ConnectAsync(async stream =>
        {
            if (stream.Path == "/early") await stream.SendTrailersAsync(200, [], [F("x-answered", "early")], stream.Aborted);
            else await Echo(stream);
        }, Options());
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/early"), endStream: false);
        var early = await peer.ReadResponseAsync(1);
        var code = await peer.ReadResetAsync(1);

        await peer.SendDataAsync(1, "in flight"u8, endStream: false);
        await peer.SendHeadersAsync(1, RawHttp2Peer.Block([F("x-trailer", "in flight")]), endStream: true);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("GET", "/after"), endStream: true);
        var after = await peer.ReadResponseAsync(3);

        Assert.Equal("early", early.Header("x-answered"));
        Assert.Equal(Http2ErrorCode.NoError, code);
        Assert.Equal("200", after.Header(":status"));
    }

    [Fact]
    public async Task Trailers_end_a_request_body_and_trailers_that_do_not_end_the_stream_get_RST_STREAM_PROTOCOL_ERROR()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        var trailers = RawHttp2Peer.Block([F("x-checksum", "none")]);

        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/with-trailers"), endStream: false);
        await peer.SendDataAsync(1, "body"u8, endStream: false);
        await peer.SendHeadersAsync(1, trailers, endStream: true);
        var ended = await peer.ReadResponseAsync(1);
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("POST", "/open-trailers"), endStream: false);
        await peer.SendHeadersAsync(3, trailers, endStream: false);
        var code = await peer.ReadResetAsync(3);

        Assert.Equal("body", ended.Text);
        Assert.Equal(Http2ErrorCode.ProtocolError, code);
        Assert.Contains("stream 3 reset: trailers on stream 3 do not end it", peer.Server.Log);
    }

    // Flow control towards the client, and frames in their less common shapes.

    [Fact]
    public async Task A_client_window_of_10_bytes_gets_the_body_at_most_10_bytes_at_a_time_as_it_opens_the_window()
    {
        var payload = Pattern(95);
        await using var peer = await RawHttp2Peer.ConnectAsync(async stream =>
        {
            await stream.ReadBodyAsync(stream.Aborted);
            await stream.SendHeadersAsync(200, [], stream.Aborted);
            await stream.SendDataAsync(payload, stream.Aborted);
            await stream.SendTrailersAsync(200, [], [F("x-sent", "all")], stream.Aborted);
        }, Options());
        await peer.SendPrefaceAsync((SettingId.InitialWindowSize, 10));
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("GET", "/window"), endStream: true);

        var headers = await peer.NextAsync(f => f.Type == FrameType.Headers && f.StreamId == 1, "the answer's headers");
        Assert.Equal("200", (await peer.ReadHeaderBlockAsync(headers)).Single(f => f.Key == ":status").Value);
        var first = await peer.NextAsync(f => f.Type == FrameType.Data && f.StreamId == 1, "the first DATA");
        Assert.Equal(10, first.Payload.Length);
        // The window is used up: nothing more comes before the answer to a PING sent now.
        await peer.SendFrameAsync(FrameType.Ping, 0, 0, new byte[8]);
        var afterFirst = await peer.NextAsync(f => f.Type == FrameType.Ping || f.StreamId == 1, "the PING's answer");
        Assert.True(afterFirst.Type == FrameType.Ping, $"{afterFirst} came with the window shut");

        var received = new List<byte>(first.Payload);
        var granted = 10;
        RawFrame frame;
        do
        {
            await peer.SendWindowUpdateAsync(1, 10);
            granted += 10;
            frame = await peer.NextAsync(f => f.StreamId == 1 && f.Type is FrameType.Data or FrameType.Headers, "the next DATA, or the trailers");
            if (frame.Type == FrameType.Data)
            {
                Assert.True(frame.Payload.Length <= 10, $"a DATA frame of {frame.Payload.Length} bytes in a window of 10");
                received.AddRange(frame.Payload);
                Assert.True(received.Count <= granted, $"{received.Count} bytes sent in a window of {granted} in all");
            }
        } while (frame.Type == FrameType.Data);

        AssertSameBytes(payload, [.. received]);
        Assert.Equal("all", (await peer.ReadHeaderBlockAsync(frame)).Single(f => f.Key == "x-sent").Value);
    }

    [Fact]
    public async Task A_header_block_split_over_CONTINUATION_frames_is_served()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        var block = RawHttp2Peer.Request("GET", "/split", F("x-request-id", new string('r', 300)));
        var third = block.Length / 3;

        await peer.SendFrameAsync(FrameType.Headers, FrameFlags.EndStream, 1, block.AsSpan(0, third));
        await peer.SendFrameAsync(FrameType.Continuation, 0, 1, block.AsSpan(third, third));
        await peer.SendFrameAsync(FrameType.Continuation, FrameFlags.EndHeaders, 1, block.AsSpan(2 * third));
        var response = await peer.ReadResponseAsync(1);

        Assert.Equal("200", response.Header(":status"));
        Assert.Equal("/split", response.Header("x-path"));
        Assert.Equal(new string('r', 300), response.Header("x-request-id"));
    }

    [Fact]
    public async Task Padded_HEADERS_with_priority_and_padded_DATA_are_read_without_their_padding()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        var block = RawHttp2Peer.Request("POST", "/padded");
        byte[] priority = [0, 0, 0, 0, 15];

        await peer.SendFrameAsync(FrameType.Headers, FrameFlags.Padded | FrameFlags.Priority | FrameFlags.EndHeaders, 1,
            [4, .. priority, .. block, 0, 0, 0, 0]);
        await peer.SendFrameAsync(FrameType.Data, FrameFlags.Padded | FrameFlags.EndStream, 1, [6, .. "hello"u8, 0, 0, 0, 0, 0, 0]);
        var response = await peer.ReadResponseAsync(1);

        Assert.Equal("/padded", response.Header("x-path"));
        Assert.Equal("hello", response.Text);
        Assert.Equal("5", response.Trailer("x-body-bytes"));
    }

    [Fact]
    public async Task Stopping_an_idle_connection_sends_GOAWAY_NO_ERROR_and_ends_it()
    {
        await using var peer = await RawHttp2Peer.ConnectAsync(Echo, Options());
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("GET", "/before"), endStream: true);
        await peer.ReadResponseAsync(1);

        await peer.Server.Stopping.CancelAsync();
        var goAway = await peer.ReadGoAwayAsync();

        Assert.Equal((Http2ErrorCode.NoError, 1), (goAway.Code, goAway.LastStreamId));
        await peer.Server.EndedAsync();
        Assert.Null(await peer.ReadFrameAsync("the end of the connection"));
    }

    [Fact]
    public async Task Stopping_sends_GOAWAY_NO_ERROR_and_ServeAsync_ends_once_the_stream_in_flight_has_finished()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var peer = await RawHttp2Peer.ConnectAsync(async stream =>
        {
            started.TrySetResult();
            await release.Task.WaitAsync(stream.Aborted);
            await Echo(stream);
        }, Options());
        await peer.SendPrefaceAsync();
        await peer.SendHeadersAsync(1, RawHttp2Peer.Request("POST", "/in-flight"), endStream: false);
        await started.Task.WaitAsync(Patience, Ct);

        await peer.Server.Stopping.CancelAsync();
        var goAway = await peer.ReadGoAwayAsync();
        // A stream opened after the GOAWAY is refused; the one in flight is finished.
        await peer.SendHeadersAsync(3, RawHttp2Peer.Request("GET", "/late"), endStream: true);
        var refused = await peer.ReadResetAsync(3);
        var servingBeforeRelease = !peer.Server.Serving.IsCompleted;
        release.SetResult();
        await peer.SendDataAsync(1, "last words"u8, endStream: true);
        var finished = await peer.ReadResponseAsync(1);
        await peer.Server.EndedAsync();

        Assert.Equal((Http2ErrorCode.NoError, 1), (goAway.Code, goAway.LastStreamId));
        Assert.Contains("stopping", goAway.Debug);
        Assert.Equal(Http2ErrorCode.RefusedStream, refused);
        Assert.True(servingBeforeRelease, "ServeAsync ended with a stream in flight");
        Assert.Equal("last words", finished.Text);
        Assert.Null(finished.Reset);
        Assert.Null(await peer.ReadFrameAsync("the end of the connection"));
        Assert.Equal(["/in-flight"], peer.Server.Requests);
    }
}

/// <summary>
/// .NET's HTTP/2 client (h2c with prior knowledge) whose every connection is a <see cref="ServedConnection"/>; a
/// healthy run needs exactly one.
/// </summary>
file sealed class H2cServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<ServedConnection> _connections = new();

    public H2cServer(Func<Http2Stream, Task> handler, Http2ServerOptions options)
    {
        var sockets = new SocketsHttpHandler
        {
            // The protocol's initial window, the one a client starts every stream with.
            InitialHttp2StreamWindowSize = 65_535,
            ConnectCallback = async (_, _) =>
            {
                var connection = await ServedConnection.StartAsync(handler, options);
                _connections.Enqueue(connection);
                return connection.Client;
            },
        };
        Client = new HttpClient(sockets) { BaseAddress = new Uri("http://agent/"), Timeout = 3 * ServedConnection.Patience };
    }

    public HttpClient Client { get; }

    public int Connections => _connections.Count;

    public string Log => string.Join('\n', _connections.Select(c => c.Log));

    public static HttpRequestMessage Request(HttpMethod method, string path, byte[]? body = null) => new(method, path)
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Content = body is null ? null : new ByteArrayContent(body),
    };

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        foreach (var connection in _connections) await connection.DisposeAsync();
    }
}
