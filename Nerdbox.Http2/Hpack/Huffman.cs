namespace Nerdbox.Http2.Hpack;

/// <summary>The static Huffman code of RFC 7541 Appendix B, decoding only: the server never Huffman-codes what it sends.</summary>
internal static class Huffman
{
    /// <summary>The end-of-string symbol; it may only appear, truncated, as padding.</summary>
    public const int Eos = 256;

    // Symbol -> (code, length in bits), the code right-aligned. Normative data from the RFC.
    private static readonly (uint Code, int Length)[] Table =
    [
        /* 0x00 */ (0x1ff8, 13), (0x7fffd8, 23), (0xfffffe2, 28), (0xfffffe3, 28), (0xfffffe4, 28), (0xfffffe5, 28), (0xfffffe6, 28), (0xfffffe7, 28),
        /* 0x08 */ (0xfffffe8, 28), (0xffffea, 24), (0x3ffffffc, 30), (0xfffffe9, 28), (0xfffffea, 28), (0x3ffffffd, 30), (0xfffffeb, 28), (0xfffffec, 28),
        /* 0x10 */ (0xfffffed, 28), (0xfffffee, 28), (0xfffffef, 28), (0xffffff0, 28), (0xffffff1, 28), (0xffffff2, 28), (0x3ffffffe, 30), (0xffffff3, 28),
        /* 0x18 */ (0xffffff4, 28), (0xffffff5, 28), (0xffffff6, 28), (0xffffff7, 28), (0xffffff8, 28), (0xffffff9, 28), (0xffffffa, 28), (0xffffffb, 28),
        /* 0x20 */ (0x14, 6), (0x3f8, 10), (0x3f9, 10), (0xffa, 12), (0x1ff9, 13), (0x15, 6), (0xf8, 8), (0x7fa, 11),
        /* 0x28 */ (0x3fa, 10), (0x3fb, 10), (0xf9, 8), (0x7fb, 11), (0xfa, 8), (0x16, 6), (0x17, 6), (0x18, 6),
        /* 0x30 */ (0x0, 5), (0x1, 5), (0x2, 5), (0x19, 6), (0x1a, 6), (0x1b, 6), (0x1c, 6), (0x1d, 6),
        /* 0x38 */ (0x1e, 6), (0x1f, 6), (0x5c, 7), (0xfb, 8), (0x7ffc, 15), (0x20, 6), (0xffb, 12), (0x3fc, 10),
        /* 0x40 */ (0x1ffa, 13), (0x21, 6), (0x5d, 7), (0x5e, 7), (0x5f, 7), (0x60, 7), (0x61, 7), (0x62, 7),
        /* 0x48 */ (0x63, 7), (0x64, 7), (0x65, 7), (0x66, 7), (0x67, 7), (0x68, 7), (0x69, 7), (0x6a, 7),
        /* 0x50 */ (0x6b, 7), (0x6c, 7), (0x6d, 7), (0x6e, 7), (0x6f, 7), (0x70, 7), (0x71, 7), (0x72, 7),
        /* 0x58 */ (0xfc, 8), (0x73, 7), (0xfd, 8), (0x1ffb, 13), (0x7fff0, 19), (0x1ffc, 13), (0x3ffc, 14), (0x22, 6),
        /* 0x60 */ (0x7ffd, 15), (0x3, 5), (0x23, 6), (0x4, 5), (0x24, 6), (0x5, 5), (0x25, 6), (0x26, 6),
        /* 0x68 */ (0x27, 6), (0x6, 5), (0x74, 7), (0x75, 7), (0x28, 6), (0x29, 6), (0x2a, 6), (0x7, 5),
        /* 0x70 */ (0x2b, 6), (0x76, 7), (0x2c, 6), (0x8, 5), (0x9, 5), (0x2d, 6), (0x77, 7), (0x78, 7),
        /* 0x78 */ (0x79, 7), (0x7a, 7), (0x7b, 7), (0x7ffe, 15), (0x7fc, 11), (0x3ffd, 14), (0x1ffd, 13), (0xffffffc, 28),
        /* 0x80 */ (0xfffe6, 20), (0x3fffd2, 22), (0xfffe7, 20), (0xfffe8, 20), (0x3fffd3, 22), (0x3fffd4, 22), (0x3fffd5, 22), (0x7fffd9, 23),
        /* 0x88 */ (0x3fffd6, 22), (0x7fffda, 23), (0x7fffdb, 23), (0x7fffdc, 23), (0x7fffdd, 23), (0x7fffde, 23), (0xffffeb, 24), (0x7fffdf, 23),
        /* 0x90 */ (0xffffec, 24), (0xffffed, 24), (0x3fffd7, 22), (0x7fffe0, 23), (0xffffee, 24), (0x7fffe1, 23), (0x7fffe2, 23), (0x7fffe3, 23),
        /* 0x98 */ (0x7fffe4, 23), (0x1fffdc, 21), (0x3fffd8, 22), (0x7fffe5, 23), (0x3fffd9, 22), (0x7fffe6, 23), (0x7fffe7, 23), (0xffffef, 24),
        /* 0xa0 */ (0x3fffda, 22), (0x1fffdd, 21), (0xfffe9, 20), (0x3fffdb, 22), (0x3fffdc, 22), (0x7fffe8, 23), (0x7fffe9, 23), (0x1fffde, 21),
        /* 0xa8 */ (0x7fffea, 23), (0x3fffdd, 22), (0x3fffde, 22), (0xfffff0, 24), (0x1fffdf, 21), (0x3fffdf, 22), (0x7fffeb, 23), (0x7fffec, 23),
        /* 0xb0 */ (0x1fffe0, 21), (0x1fffe1, 21), (0x3fffe0, 22), (0x1fffe2, 21), (0x7fffed, 23), (0x3fffe1, 22), (0x7fffee, 23), (0x7fffef, 23),
        /* 0xb8 */ (0xfffea, 20), (0x3fffe2, 22), (0x3fffe3, 22), (0x3fffe4, 22), (0x7ffff0, 23), (0x3fffe5, 22), (0x3fffe6, 22), (0x7ffff1, 23),
        /* 0xc0 */ (0x3ffffe0, 26), (0x3ffffe1, 26), (0xfffeb, 20), (0x7fff1, 19), (0x3fffe7, 22), (0x7ffff2, 23), (0x3fffe8, 22), (0x1ffffec, 25),
        /* 0xc8 */ (0x3ffffe2, 26), (0x3ffffe3, 26), (0x3ffffe4, 26), (0x7ffffde, 27), (0x7ffffdf, 27), (0x3ffffe5, 26), (0xfffff1, 24), (0x1ffffed, 25),
        /* 0xd0 */ (0x7fff2, 19), (0x1fffe3, 21), (0x3ffffe6, 26), (0x7ffffe0, 27), (0x7ffffe1, 27), (0x3ffffe7, 26), (0x7ffffe2, 27), (0xfffff2, 24),
        /* 0xd8 */ (0x1fffe4, 21), (0x1fffe5, 21), (0x3ffffe8, 26), (0x3ffffe9, 26), (0xffffffd, 28), (0x7ffffe3, 27), (0x7ffffe4, 27), (0x7ffffe5, 27),
        /* 0xe0 */ (0xfffec, 20), (0xfffff3, 24), (0xfffed, 20), (0x1fffe6, 21), (0x3fffe9, 22), (0x1fffe7, 21), (0x1fffe8, 21), (0x7ffff3, 23),
        /* 0xe8 */ (0x3fffea, 22), (0x3fffeb, 22), (0x1ffffee, 25), (0x1ffffef, 25), (0xfffff4, 24), (0xfffff5, 24), (0x3ffffea, 26), (0x7ffff4, 23),
        /* 0xf0 */ (0x3ffffeb, 26), (0x7ffffe6, 27), (0x3ffffec, 26), (0x3ffffed, 26), (0x7ffffe7, 27), (0x7ffffe8, 27), (0x7ffffe9, 27), (0x7ffffea, 27),
        /* 0xf8 */ (0x7ffffeb, 27), (0xffffffe, 28), (0x7ffffec, 27), (0x7ffffed, 27), (0x7ffffee, 27), (0x7ffffef, 27), (0x7fffff0, 27), (0x3ffffee, 26),
        /* EOS  */ (0x3fffffff, 30),
    ];

    // The code as a binary tree in a flat array: Tree[2 * node + bit] is the next internal node (> 0) or a
    // leaf stored as ~symbol (< 0). The root is node 0, which no slot can point back to.
    private static readonly int[] Tree = BuildTree();

    /// <summary>The code table, symbol by symbol (257 entries, the last being EOS).</summary>
    public static ReadOnlySpan<(uint Code, int Length)> Codes => Table;

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/> and returns the number of bytes
    /// written. The destination's length is the most the caller accepts; a longer string is an error.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var tree = Tree;
        int node = 0, written = 0;
        // The bits read since the last complete symbol; at the end they are the padding.
        int pendingBits = 0;
        bool pendingAllOnes = true;
        foreach (var octet in source)
        {
            for (var shift = 7; shift >= 0; shift--)
            {
                var bit = (octet >> shift) & 1;
                pendingBits++;
                pendingAllOnes &= bit == 1;
                var next = tree[2 * node + bit];
                if (next > 0)
                {
                    node = next;
                    continue;
                }
                var symbol = ~next;
                if (symbol == Eos)
                    throw new HpackException("a Huffman-coded string contains the EOS symbol");
                if (written == destination.Length)
                    throw new HpackException($"a Huffman-coded string decodes to more than {destination.Length} bytes");
                destination[written++] = (byte)symbol;
                node = 0;
                pendingBits = 0;
                pendingAllOnes = true;
            }
        }
        if (pendingBits > 7)
            throw new HpackException("a Huffman-coded string ends with more than 7 bits of padding");
        if (!pendingAllOnes)
            throw new HpackException("a Huffman-coded string ends with padding that is not all ones");
        return written;
    }

    private static int[] BuildTree()
    {
        // A complete prefix code over 257 symbols has 256 internal nodes.
        var tree = new int[2 * Eos];
        var nodes = 1;
        for (var symbol = 0; symbol < Table.Length; symbol++)
        {
            var (code, length) = Table[symbol];
            var node = 0;
            for (var i = length - 1; i > 0; i--)
            {
                var slot = 2 * node + (int)((code >> i) & 1);
                if (tree[slot] == 0)
                    tree[slot] = nodes++;
                node = tree[slot];
            }
            tree[2 * node + (int)(code & 1)] = ~symbol;
        }
        return tree;
    }
}
