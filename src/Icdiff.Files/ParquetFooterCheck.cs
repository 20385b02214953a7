namespace Icdiff.Files;

/// <summary>
/// Checks a Parquet file's footer (magic numbers, footer length, and the Thrift compact encoding of its metadata)
/// before a Parquet library parses it. The library's Thrift reader reads a variable-length integer at the end of
/// its buffer as an endless run of continuation bytes, so a damaged footer makes it spin forever (found by fuzzing);
/// walking the same bytes here, with every length checked against what is left, turns that into a clear error.
/// </summary>
public static class ParquetFooterCheck
{
    private const int MaxDepth = 64;

    /// <summary>Returns null when the footer is well-formed, else why it is not.</summary>
    public static string? Check(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length < 12)
        {
            return "too short to be a Parquet file";
        }

        Span<byte> magic = stackalloc byte[4];
        file.ReadExactly(magic);
        if (!magic.SequenceEqual("PAR1"u8))
        {
            return "no Parquet magic number at the start";
        }

        Span<byte> tail = stackalloc byte[8];
        file.Seek(-8, SeekOrigin.End);
        file.ReadExactly(tail);
        if (!tail[4..].SequenceEqual("PAR1"u8))
        {
            return "no Parquet magic number at the end";
        }

        var footerLength = BitConverter.ToInt32(tail[..4]);
        if (footerLength <= 0 || footerLength > file.Length - 12)
        {
            return $"the footer length ({footerLength}) does not fit the file";
        }

        var footer = new byte[footerLength];
        file.Seek(-8L - footerLength, SeekOrigin.End);
        file.ReadExactly(footer);
        var reader = new CompactReader(footer);
        return reader.SkipStruct(0) && reader.AtEnd ? null : "the file metadata is not well-formed Thrift";
    }

    /// <summary>Walks Thrift compact-protocol values without keeping them; false on anything that does not fit.</summary>
    private ref struct CompactReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly bool AtEnd => _at == _bytes.Length;

        private readonly int Left => _bytes.Length - _at;

        public bool SkipStruct(int depth)
        {
            if (depth > MaxDepth)
            {
                return false;
            }

            while (true)
            {
                if (!TryByte(out var header))
                {
                    return false;
                }

                if (header == 0)
                {
                    return true; // STOP
                }

                if ((header >> 4) == 0 && !TryVarint(out _))
                {
                    return false; // long-form field id
                }

                if (!SkipValue(header & 0x0F, depth, inList: false))
                {
                    return false;
                }
            }
        }

        private bool SkipValue(int type, int depth, bool inList)
        {
            switch (type)
            {
                case 1 or 2:
                    // In a struct a bool lives in the field header; in a list it takes a byte.
                    return !inList || Skip(1);
                case 3:
                    return Skip(1);
                case 4 or 5 or 6:
                    return TryVarint(out _);
                case 7:
                    return Skip(8);
                case 8:
                    return TryVarint(out var length) && length <= (ulong)Left && Skip((int)length);
                case 9 or 10:
                    {
                        if (!TryByte(out var header))
                        {
                            return false;
                        }

                        ulong count = (ulong)(header >> 4);
                        if (count == 15 && !TryVarint(out count))
                        {
                            return false;
                        }

                        if (count > (ulong)Left)
                        {
                            return false; // every element takes at least a byte
                        }

                        for (ulong i = 0; i < count; i++)
                        {
                            if (!SkipValue(header & 0x0F, depth + 1, inList: true))
                            {
                                return false;
                            }
                        }

                        return true;
                    }

                case 11:
                    {
                        if (!TryVarint(out var count))
                        {
                            return false;
                        }

                        if (count == 0)
                        {
                            return true;
                        }

                        if (count > (ulong)Left || !TryByte(out var types))
                        {
                            return false;
                        }

                        for (ulong i = 0; i < count; i++)
                        {
                            if (!SkipValue(types >> 4, depth + 1, inList: true) || !SkipValue(types & 0x0F, depth + 1, inList: true))
                            {
                                return false;
                            }
                        }

                        return true;
                    }

                case 12:
                    return SkipStruct(depth + 1);
                default:
                    return false;
            }
        }

        private bool TryByte(out byte value)
        {
            if (_at >= _bytes.Length)
            {
                value = 0;
                return false;
            }

            value = _bytes[_at++];
            return true;
        }

        private bool TryVarint(out ulong value)
        {
            value = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                if (!TryByte(out var b))
                {
                    return false;
                }

                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return true;
                }
            }

            return false;
        }

        private bool Skip(int count)
        {
            if (count > Left)
            {
                return false;
            }

            _at += count;
            return true;
        }
    }
}
