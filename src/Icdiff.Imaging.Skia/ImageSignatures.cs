using System.Buffers.Binary;

namespace Icdiff.Imaging.Skia;

/// <summary>Magic numbers of the formats we expect, to tell a corrupt image from a file that is not one.</summary>
internal static class ImageSignatures
{
    public static bool LooksLikeImage(ReadOnlySpan<byte> data) =>
        data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
        || data.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47])
        || data.StartsWith("GIF8"u8)
        || data.StartsWith("BM"u8)
        || (data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8));

    /// <summary>
    /// The size a BMP header declares, for files Skia's codec refuses outright: a BMP claiming 60000x60000 pixels is
    /// a dimension bomb (TooLarge), not a corrupt file. Reads the BITMAPCOREHEADER (12 bytes, 16-bit sizes) and the
    /// later headers (32-bit sizes; a negative height means top-down rows).
    /// </summary>
    public static bool TryReadBmpSize(ReadOnlySpan<byte> data, out long width, out long height)
    {
        width = height = 0;
        if (data.Length < 26 || !data.StartsWith("BM"u8))
        {
            return false;
        }

        var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(data[14..]);
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(data[18..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(data[20..]);
            return true;
        }

        if (headerSize < 40)
        {
            return false;
        }

        width = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[18..]));
        height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[22..]));
        return true;
    }
}
