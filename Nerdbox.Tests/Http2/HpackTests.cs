using System.Buffers;
using System.Text;
using Nerdbox.Http2.Hpack;

namespace Nerdbox.Tests.Http2;

/// <summary>
/// HPACK against the examples of RFC 7541 Appendix C, the Huffman code against an encoder built from the
/// same table, every decoding error the decoder promises, and the encoder through the decoder.
/// </summary>
public sealed class HpackTests
{
    private const int DefaultTableSize = 4096;
    private const int ListLimit = 65536;

    // C.2: one block each, every one on a fresh decoder as in the RFC.

    [Fact]
    public void C2_1_a_literal_with_indexing_is_decoded_and_enters_the_dynamic_table()
    {
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);

        var headers = Decode(decoder, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");

        Assert.Equal([F("custom-key", "custom-header")], headers);
        Assert.Equal([F("custom-key", "custom-header")], decoder.DynamicEntries);
        Assert.Equal(55, decoder.DynamicTableSize);
    }

    [Fact]
    public void C2_2_a_literal_without_indexing_leaves_the_dynamic_table_empty()
    {
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);

        var headers = Decode(decoder, "040c 2f73 616d 706c 652f 7061 7468");

        Assert.Equal([F(":path", "/sample/path")], headers);
        Assert.Empty(decoder.DynamicEntries);
        Assert.Equal(0, decoder.DynamicTableSize);
    }

    [Fact]
    public void C2_3_a_never_indexed_literal_leaves_the_dynamic_table_empty()
    {
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);

        var headers = Decode(decoder, "1008 7061 7373 776f 7264 0673 6563 7265 74");

        Assert.Equal([F("password", "secret")], headers);
        Assert.Empty(decoder.DynamicEntries);
        Assert.Equal(0, decoder.DynamicTableSize);
    }

    [Fact]
    public void C2_4_an_indexed_field_comes_from_the_static_table()
    {
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);

        var headers = Decode(decoder, "82");

        Assert.Equal([F(":method", "GET")], headers);
        Assert.Empty(decoder.DynamicEntries);
    }

    // C.3 and C.4: the same three requests, plain and Huffman-coded, with the same table afterwards.

    [Fact]
    public void C3_three_requests_without_Huffman_share_one_dynamic_table()
    {
        AssertRequests(
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65");
    }

    [Fact]
    public void C4_three_requests_with_Huffman_share_one_dynamic_table()
    {
        AssertRequests(
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf");
    }

    // C.5 and C.6: three responses against a 256-byte table, so entries are evicted.

    [Fact]
    public void C5_three_responses_without_Huffman_evict_the_oldest_entries()
    {
        AssertResponses(
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31");
    }

    [Fact]
    public void C6_three_responses_with_Huffman_evict_the_oldest_entries()
    {
        AssertResponses(
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07");
    }

    private static void AssertRequests(string first, string second, string third)
    {
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        var authority = F(":authority", "www.example.com");
        var noCache = F("cache-control", "no-cache");
        var custom = F("custom-key", "custom-value");

        Assert.Equal([F(":method", "GET"), F(":scheme", "http"), F(":path", "/"), authority], Decode(decoder, first));
        Assert.Equal([authority], decoder.DynamicEntries);
        Assert.Equal(57, decoder.DynamicTableSize);

        Assert.Equal([F(":method", "GET"), F(":scheme", "http"), F(":path", "/"), authority, noCache], Decode(decoder, second));
        Assert.Equal([noCache, authority], decoder.DynamicEntries);
        Assert.Equal(110, decoder.DynamicTableSize);

        Assert.Equal(
            [F(":method", "GET"), F(":scheme", "https"), F(":path", "/index.html"), authority, custom], Decode(decoder, third));
        Assert.Equal([custom, noCache, authority], decoder.DynamicEntries);
        Assert.Equal(164, decoder.DynamicTableSize);
    }

    private static void AssertResponses(string first, string second, string third)
    {
        var decoder = new HpackDecoder(256, ListLimit);
        var privateCache = F("cache-control", "private");
        var date21 = F("date", "Mon, 21 Oct 2013 20:13:21 GMT");
        var location = F("location", "https://www.example.com");

        Assert.Equal([F(":status", "302"), privateCache, date21, location], Decode(decoder, first));
        Assert.Equal([location, date21, privateCache, F(":status", "302")], decoder.DynamicEntries);
        Assert.Equal(222, decoder.DynamicTableSize);

        // ":status: 307" pushes out ":status: 302", the oldest entry.
        Assert.Equal([F(":status", "307"), privateCache, date21, location], Decode(decoder, second));
        Assert.Equal([F(":status", "307"), location, date21, privateCache], decoder.DynamicEntries);
        Assert.Equal(222, decoder.DynamicTableSize);

        var date22 = F("date", "Mon, 21 Oct 2013 20:13:22 GMT");
        var gzip = F("content-encoding", "gzip");
        var cookie = F("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1");
        Assert.Equal([F(":status", "200"), privateCache, date22, location, gzip, cookie], Decode(decoder, third));
        Assert.Equal([cookie, gzip, date22], decoder.DynamicEntries);
        Assert.Equal(215, decoder.DynamicTableSize);
    }

    // The Huffman code.

    [Fact]
    public void The_Huffman_table_is_a_complete_canonical_code()
    {
        // RFC 7541's code is canonical: ordered by length, then symbol, each code is the previous plus one,
        // shifted to the new length. Checking that catches a mistyped code or length anywhere in the table.
        var codes = Huffman.Codes;
        Assert.Equal(257, codes.Length);
        var order = Enumerable.Range(0, codes.Length).OrderBy(s => Huffman.Codes[s].Length).ThenBy(s => s).ToArray();
        ulong expected = 0;
        for (var i = 0; i < order.Length; i++)
        {
            var (code, length) = codes[order[i]];
            if (i > 0)
                expected = (expected + 1) << (length - codes[order[i - 1]].Length);
            Assert.True(expected == code, $"symbol {order[i]} has code {code:x}, expected {expected:x}");
        }
        // The last code in that order is all ones, so no bit pattern is left over: the code is complete.
        Assert.Equal((0x3fffffffu, 30), codes[Huffman.Eos]);
        Assert.Equal((0x0u, 5), codes['0']);
        Assert.Equal((0x14u, 6), codes[' ']);
    }

    [Fact]
    public void Every_byte_value_survives_a_Huffman_round_trip_alone_and_in_random_strings()
    {
        for (var b = 0; b < 256; b++)
            Assert.Equal([(byte)b], HuffmanRoundTrip([(byte)b]));

        var random = new Random(7541);
        for (var i = 0; i < 500; i++)
        {
            var text = new byte[random.Next(0, 64)];
            random.NextBytes(text);
            Assert.Equal(text, HuffmanRoundTrip(text));
        }
        Assert.Equal("www.example.com"u8.ToArray(), HuffmanRoundTrip("www.example.com"u8.ToArray()));
        Assert.Equal(Hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"), HuffmanEncode("www.example.com"u8.ToArray()));
    }

    [Fact]
    public void A_Huffman_string_longer_than_the_destination_is_rejected()
    {
        var encoded = HuffmanEncode("abcdef"u8.ToArray());

        Assert.Equal(6, Huffman.Decode(encoded, new byte[6]));
        var e = Assert.Throws<HpackException>(() => Huffman.Decode(encoded, new byte[5]));
        Assert.Contains("decodes to more than 5 bytes", e.Message);
    }

    // Decoding errors: each is an HpackException whose message names the fault.

    [Fact]
    public void Index_zero_is_rejected()
    {
        AssertRejected("80", "header index 0 is not valid");
    }

    [Fact]
    public void An_index_beyond_both_tables_is_rejected()
    {
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        Decode(decoder, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
        Assert.Equal([F("custom-key", "custom-header")], Decode(decoder, "be"));

        var e = Assert.Throws<HpackException>(() => Decode(decoder, "bf"));
        Assert.Equal("header index 63 is beyond the static and dynamic tables (62 entries)", e.Message);
        // An index written with continuation bytes: 127 + 0x3f = 190.
        AssertRejected("ff3f", "header index 190 is beyond the static and dynamic tables (61 entries)");
    }

    [Fact]
    public void A_literal_whose_name_index_is_beyond_both_tables_is_rejected()
    {
        AssertRejected("7f00 0161", "header index 63 is beyond the static and dynamic tables (61 entries)");
    }

    [Fact]
    public void A_truncated_integer_is_rejected()
    {
        AssertRejected("ff", "ends inside an integer");
        AssertRejected("ff80 80", "ends inside an integer");
    }

    [Fact]
    public void An_integer_above_31_bits_is_rejected()
    {
        AssertRejected("ffff ffff ff0f", "larger than 2^31-1");
        // The largest int is accepted as an integer (and then fails as an index, not as an integer).
        AssertRejected("ff80 ffff ff07", "header index 2147483647 is beyond");
    }

    [Fact]
    public void An_integer_padded_with_too_many_continuation_bytes_is_rejected()
    {
        AssertRejected("ff80 8080 8080 00", "more than 5 continuation bytes");
        // Five continuation bytes are fine, even with zero padding: 127 + 1 = 128.
        AssertRejected("ff81 8080 8000", "header index 128 is beyond");
    }

    [Fact]
    public void A_truncated_string_is_rejected()
    {
        AssertRejected("4005 6162", "a string literal of 5 bytes is truncated (2 bytes left in the header block)");
        AssertRejected("40", "ends where a string literal should start");
        AssertRejected("4001 61", "ends where a string literal should start");
        AssertRejected("407f", "ends inside an integer");
    }

    [Fact]
    public void A_Huffman_string_containing_EOS_is_rejected()
    {
        // "a" (00011), then EOS (30 ones), then padding.
        AssertRejected("0001 61" + HuffmanLiteral("00011" + new string('1', 30)), "contains the EOS symbol");
    }

    [Fact]
    public void Huffman_padding_of_eight_bits_or_more_is_rejected()
    {
        // A whole byte of ones; then "a" followed by 11 ones.
        AssertRejected("0001 61" + HuffmanLiteral("11111111"), "more than 7 bits of padding");
        AssertRejected("0001 61" + HuffmanLiteral("00011" + new string('1', 11)), "more than 7 bits of padding");
        // Up to seven bits are fine: "aa" is 10 bits, padded with 6 ones; "a" with 3.
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        Assert.Equal([F("a", "aa")], Decode(decoder, "0001 61" + HuffmanLiteral("0001100011111111")));
        Assert.Equal([F("a", "a")], Decode(decoder, "0001 61" + HuffmanLiteral("00011111")));
    }

    [Fact]
    public void Huffman_padding_that_is_not_all_ones_is_rejected()
    {
        // "a" followed by the padding 101, then by 000.
        AssertRejected("0001 61" + HuffmanLiteral("00011101"), "padding that is not all ones");
        AssertRejected("0001 61" + HuffmanLiteral("00011000"), "padding that is not all ones");
    }

    [Fact]
    public void A_table_size_update_above_the_advertised_maximum_is_rejected()
    {
        // 31 + 4065 = 4096 is allowed, 4097 is not.
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        Assert.Empty(Decode(decoder, "3fe1 1f"));
        var e = Assert.Throws<HpackException>(() => Decode(decoder, "3fe2 1f"));
        Assert.Equal("a dynamic table size update to 4097 exceeds the maximum of 4096", e.Message);
    }

    [Fact]
    public void A_table_size_update_after_a_field_in_the_same_block_is_rejected()
    {
        AssertRejected("8220", "a dynamic table size update follows a header field in the same block");
        // At the start of a block updates apply, two in a row too, and evict.
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        Decode(decoder, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
        Assert.Equal([F(":method", "GET")], Decode(decoder, "203f 1982"));
        Assert.Empty(decoder.DynamicEntries);
        Assert.Equal(0, decoder.DynamicTableSize);
    }

    [Fact]
    public void A_table_size_update_shrinks_the_table_and_later_entries_respect_it()
    {
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        Decode(decoder, "4001 6101 62 4001 6301 64");
        Assert.Equal([F("c", "d"), F("a", "b")], decoder.DynamicEntries);

        // Room for one 34-byte entry: the older is evicted, then each new one replaces the last.
        Decode(decoder, "3f03");
        Assert.Equal([F("c", "d")], decoder.DynamicEntries);
        Decode(decoder, "4001 6501 66");
        Assert.Equal([F("e", "f")], decoder.DynamicEntries);
        Assert.Equal(34, decoder.DynamicTableSize);

        // An entry larger than the whole table empties it and is not added.
        Assert.Equal([F("long", "value")], Decode(decoder, "4004 6c6f 6e67 0576 616c 7565"));
        Assert.Empty(decoder.DynamicEntries);
    }

    [Fact]
    public void A_header_list_larger_than_the_limit_is_rejected()
    {
        // Each "a: b" counts 1 + 1 + 32 = 34 bytes: three fit in 102, a fourth does not.
        var decoder = new HpackDecoder(DefaultTableSize, 102);
        Assert.Equal(3, Decode(decoder, "0001 6101 62 0001 6101 62 0001 6101 62").Count);

        var e = Assert.Throws<HpackException>(() => Decode(decoder, "0001 6101 62 0001 6101 62 0001 6101 62 0001 6101 62"));
        Assert.Equal("the header list is larger than 102 bytes", e.Message);
    }

    [Fact]
    public void Many_entries_wrap_the_dynamic_table_and_keep_their_order()
    {
        // 200 distinct fields of 3 + 3 + 32 = 38 bytes through a 4096-byte table: the last 107 stay.
        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        for (var i = 0; i < 200; i++)
            Decode(decoder, [0x40, 3, .. Encoding.ASCII.GetBytes($"k{i % 100:d2}"), 3, .. Encoding.ASCII.GetBytes($"{i:d3}")]);

        Assert.Equal(Enumerable.Range(93, 107).Reverse().Select(i => $"{i:d3}"), decoder.DynamicEntries.Select(e => e.Value));
        Assert.Equal(107 * 38, decoder.DynamicTableSize);
        // Index 62 is the newest entry and 61 + 107 = 168 the oldest (127 in the prefix, then 41).
        Assert.Equal([F("k99", "199")], Decode(decoder, "be"));
        Assert.Equal([F("k93", "093")], Decode(decoder, "ff29"));
        var e = Assert.Throws<HpackException>(() => Decode(decoder, "ff2a"));
        Assert.Equal("header index 169 is beyond the static and dynamic tables (168 entries)", e.Message);
    }

    // The encoder, read back through the decoder.

    [Fact]
    public void Encoded_response_fields_decode_to_the_same_fields()
    {
        var fields = new[]
        {
            F("content-type", "application/grpc"),
            F("grpc-status", "13"),
            F("grpc-message", "bad input: 100%25 wrong %E2%9C%93"),
            F("x-foo-bin", "AAECAwQFBgcICQ=="),
            F("date", ""),
            F("x-long-" + new string('n', 200), new string('v', 3000)),
        };
        var output = new ArrayBufferWriter<byte>();
        HpackEncoder.EncodeStatus(200, output);
        HpackEncoder.EncodeStatus(404, output);
        foreach (var field in fields)
            HpackEncoder.Encode(field.Key, field.Value, output);

        var decoder = new HpackDecoder(DefaultTableSize, ListLimit);
        var headers = new List<KeyValuePair<string, string>>();
        decoder.Decode(output.WrittenSpan, headers);

        Assert.Equal([F(":status", "200"), F(":status", "404"), .. fields], headers);
        Assert.Empty(decoder.DynamicEntries);
    }

    [Fact]
    public void The_encoder_writes_the_representations_it_promises()
    {
        Assert.Equal(Hex("88"), Encoded(o => HpackEncoder.EncodeStatus(200, o)));
        Assert.Equal(Hex("0803 3430 34"), Encoded(o => HpackEncoder.EncodeStatus(404, o)));
        // "content-type" is static index 31: 15 in the prefix, then 16.
        Assert.Equal(Hex("0f10 0474 6578 74"), Encoded(o => HpackEncoder.Encode("content-type", "text", o)));
        Assert.Equal(Hex("0002 7878 0179"), Encoded(o => HpackEncoder.Encode("xx", "y", o)));
        // A 200-byte value: 127 in the prefix, then 73.
        Assert.Equal([0x00, 0x01, (byte)'v', 0x7f, 73], Encoded(o => HpackEncoder.Encode("v", new string('z', 200), o)).Take(5));
    }

    [Fact]
    public void The_encoder_refuses_what_HPACK_cannot_carry()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => HpackEncoder.Encode("grpc-message", "check \u2713", output));
        Assert.Throws<ArgumentOutOfRangeException>(() => HpackEncoder.EncodeStatus(1000, output));
        Assert.Equal(0, output.WrittenCount);
    }

    private static KeyValuePair<string, string> F(string name, string value) => new(name, value);

    private static List<KeyValuePair<string, string>> Decode(HpackDecoder decoder, string hex) => Decode(decoder, Hex(hex));

    private static List<KeyValuePair<string, string>> Decode(HpackDecoder decoder, byte[] block)
    {
        var headers = new List<KeyValuePair<string, string>>();
        decoder.Decode(block, headers);
        return headers;
    }

    private static void AssertRejected(string hex, string messagePart)
    {
        var e = Assert.Throws<HpackException>(() => Decode(new HpackDecoder(DefaultTableSize, ListLimit), hex));
        Assert.Contains(messagePart, e.Message);
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    private static byte[] Encoded(Action<IBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] HuffmanRoundTrip(byte[] text)
    {
        var encoded = HuffmanEncode(text);
        var decoded = new byte[text.Length];
        var length = Huffman.Decode(encoded, decoded);
        return decoded[..length];
    }

    // A test-only encoder over the decoder's own table: codes back to back, the tail padded with ones.
    private static byte[] HuffmanEncode(byte[] text)
    {
        var bits = new StringBuilder();
        foreach (var b in text)
        {
            var (code, length) = Huffman.Codes[b];
            bits.Append(Convert.ToString(code, 2).PadLeft(length, '0'));
        }
        return BitsToBytes(bits.ToString());
    }

    private static byte[] BitsToBytes(string bits)
    {
        var padded = bits.PadRight((bits.Length + 7) / 8 * 8, '1');
        return Enumerable.Range(0, padded.Length / 8).Select(i => Convert.ToByte(padded.Substring(i * 8, 8), 2)).ToArray();
    }

    // A Huffman-coded string literal (H bit set, length under 127) of these bits, completed with ones.
    private static string HuffmanLiteral(string bits)
    {
        var bytes = BitsToBytes(bits);
        return Convert.ToHexString([(byte)(0x80 | bytes.Length), .. bytes]);
    }
}
