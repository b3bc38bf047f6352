using System.Text;

namespace Nerdbox.Http2.Hpack;

/// <summary>
/// Decodes HPACK header blocks (RFC 7541) for one connection. The dynamic table lives as long as the decoder,
/// so every header block of the connection must go through the same instance, in order.
/// </summary>
/// <param name="maxTableSize">The SETTINGS_HEADER_TABLE_SIZE this side advertised: the largest dynamic table the peer may ask for.</param>
/// <param name="maxHeaderListBytes">The largest header list accepted, counted as SETTINGS_MAX_HEADER_LIST_SIZE counts it.</param>
internal sealed class HpackDecoder(int maxTableSize, int maxHeaderListBytes)
{
    // RFC 7541 section 4.1: each entry costs its name and value plus an estimate of its own overhead.
    private const int EntryOverhead = 32;

    // 2^N - 1 with N up to 7 plus five 7-bit groups covers every 31-bit value; more bytes can only be padding.
    private const int MaxIntegerContinuationBytes = 5;

    private readonly int maxTableSize = maxTableSize >= 0 ? maxTableSize : throw new ArgumentOutOfRangeException(nameof(maxTableSize));
    private readonly int maxHeaderListBytes = maxHeaderListBytes > 0 ? maxHeaderListBytes : throw new ArgumentOutOfRangeException(nameof(maxHeaderListBytes));

    // The dynamic table as a ring, oldest entry at `oldest`: new entries go in at the back, eviction takes from the front.
    private KeyValuePair<string, string>[] entries = new KeyValuePair<string, string>[8];
    private int oldest;
    private int count;
    private int tableSize;
    private int tableCapacity = maxTableSize;

    private byte[] huffmanBuffer = [];

    /// <summary>The dynamic table, newest entry first (index 62 first).</summary>
    internal IReadOnlyList<KeyValuePair<string, string>> DynamicEntries =>
        Enumerable.Range(0, count).Select(DynamicEntry).ToArray();

    /// <summary>The dynamic table's size as RFC 7541 section 4.1 counts it.</summary>
    internal int DynamicTableSize => tableSize;

    /// <summary>
    /// Decodes one complete header block and appends its fields, in order, to <paramref name="headers"/>.
    /// Throws <see cref="HpackException"/> on anything malformed; the table is then unusable, as the caller
    /// ends the connection.
    /// </summary>
    public void Decode(ReadOnlySpan<byte> block, List<KeyValuePair<string, string>> headers)
    {
        var position = 0;
        long listSize = 0;
        var sawField = false;
        while (position < block.Length)
        {
            var first = block[position];
            KeyValuePair<string, string> field;
            if ((first & 0x80) != 0)
            {
                field = Lookup(ReadInteger(block, ref position, 7));
            }
            else if ((first & 0x40) != 0)
            {
                field = ReadLiteral(block, ref position, 6);
                Insert(field);
            }
            else if ((first & 0x20) != 0)
            {
                // RFC 7541 section 4.2: size updates come before the first field of a block.
                if (sawField)
                    throw new HpackException("a dynamic table size update follows a header field in the same block");
                var size = ReadInteger(block, ref position, 5);
                if (size > maxTableSize)
                    throw new HpackException($"a dynamic table size update to {size} exceeds the maximum of {maxTableSize}");
                tableCapacity = size;
                EvictUntilFits(0);
                continue;
            }
            else
            {
                // Without indexing (0000) and never indexed (0001) differ only for intermediaries.
                field = ReadLiteral(block, ref position, 4);
            }

            sawField = true;
            listSize += (long)field.Key.Length + field.Value.Length + EntryOverhead;
            if (listSize > maxHeaderListBytes)
                throw new HpackException($"the header list is larger than {maxHeaderListBytes} bytes");
            headers.Add(field);
        }
    }

    private KeyValuePair<string, string> ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        var nameIndex = ReadInteger(block, ref position, prefixBits);
        var name = nameIndex == 0 ? ReadString(block, ref position) : Lookup(nameIndex).Key;
        var value = ReadString(block, ref position);
        return new(name, value);
    }

    private KeyValuePair<string, string> Lookup(int index)
    {
        if (index == 0)
            throw new HpackException("header index 0 is not valid");
        if (index <= HpackStaticTable.Count)
            return HpackStaticTable.Get(index);
        var dynamicIndex = index - HpackStaticTable.Count - 1;
        if (dynamicIndex >= count)
            throw new HpackException(
                $"header index {index} is beyond the static and dynamic tables ({HpackStaticTable.Count + count} entries)");
        return DynamicEntry(dynamicIndex);
    }

    private KeyValuePair<string, string> DynamicEntry(int newestFirstIndex) =>
        entries[(oldest + count - 1 - newestFirstIndex) % entries.Length];

    private void Insert(KeyValuePair<string, string> field)
    {
        var size = field.Key.Length + field.Value.Length + EntryOverhead;
        // RFC 7541 section 4.4: an entry larger than the whole table empties it and is not added.
        EvictUntilFits(size);
        if (size > tableCapacity)
            return;
        if (count == entries.Length)
            Grow();
        entries[(oldest + count) % entries.Length] = field;
        count++;
        tableSize += size;
    }

    private void EvictUntilFits(int incoming)
    {
        while (count > 0 && tableSize + incoming > tableCapacity)
        {
            var evicted = entries[oldest];
            tableSize -= evicted.Key.Length + evicted.Value.Length + EntryOverhead;
            entries[oldest] = default;
            oldest = (oldest + 1) % entries.Length;
            count--;
        }
    }

    private void Grow()
    {
        var larger = new KeyValuePair<string, string>[entries.Length * 2];
        for (var i = 0; i < count; i++)
            larger[i] = entries[(oldest + i) % entries.Length];
        entries = larger;
        oldest = 0;
    }

    // RFC 7541 section 5.1, with the prefix in the low bits of the first byte, which the caller has seen.
    private static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        var prefixMax = (1 << prefixBits) - 1;
        long value = block[position++] & prefixMax;
        if (value < prefixMax)
            return (int)value;
        for (var i = 0; i < MaxIntegerContinuationBytes; i++)
        {
            if (position >= block.Length)
                throw new HpackException("the header block ends inside an integer");
            var octet = block[position++];
            value += (long)(octet & 0x7f) << (7 * i);
            if (value > int.MaxValue)
                throw new HpackException("an integer in the header block is larger than 2^31-1");
            if ((octet & 0x80) == 0)
                return (int)value;
        }
        throw new HpackException($"an integer in the header block has more than {MaxIntegerContinuationBytes} continuation bytes");
    }

    // RFC 7541 section 5.2: a Huffman flag and a 7-bit-prefix length, then the octets.
    private string ReadString(ReadOnlySpan<byte> block, ref int position)
    {
        if (position >= block.Length)
            throw new HpackException("the header block ends where a string literal should start");
        var huffman = (block[position] & 0x80) != 0;
        var length = ReadInteger(block, ref position, 7);
        var available = block.Length - position;
        if (length > available)
            throw new HpackException($"a string literal of {length} bytes is truncated ({available} bytes left in the header block)");
        var raw = block.Slice(position, length);
        position += length;
        if (!huffman)
            return Encoding.Latin1.GetString(raw);

        // The shortest code is 5 bits, which bounds the output; no single string can exceed the whole list.
        var limit = (int)Math.Min((long)length * 8 / 5, maxHeaderListBytes);
        if (huffmanBuffer.Length < limit)
            huffmanBuffer = new byte[Math.Max(limit, Math.Min(2 * huffmanBuffer.Length, maxHeaderListBytes))];
        var decoded = Huffman.Decode(raw, huffmanBuffer.AsSpan(0, limit));
        return Encoding.Latin1.GetString(huffmanBuffer, 0, decoded);
    }
}
