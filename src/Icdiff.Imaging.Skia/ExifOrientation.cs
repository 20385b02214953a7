using System.Buffers;
using System.Buffers.Binary;

namespace Icdiff.Imaging.Skia;

/// <summary>
/// EXIF orientation: camera JPEGs often store pixels sideways with a tag saying how to turn them for display.
/// Scoring the stored pixels of a sideways gallery photo against an upright copy would miss the copy, so decoded
/// pixels are turned upright first, as every image viewer does.
/// </summary>
internal static class ExifOrientation
{
    /// <summary>The orientation tag (1..8) of a JPEG's EXIF segment; 1 (as stored) when there is none or it cannot be read.</summary>
    public static int FromJpeg(ReadOnlySpan<byte> jpeg)
    {
        var at = 2;
        while (at + 4 <= jpeg.Length && jpeg[at] == 0xFF)
        {
            var marker = jpeg[at + 1];
            if (marker is 0xD9 or 0xDA)
            {
                break; // end of image, start of scan: no more metadata
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
            if (length < 2 || at + 2 + length > jpeg.Length)
            {
                break;
            }

            var segment = jpeg.Slice(at + 4, length - 2);
            if (marker == 0xE1 && segment.Length > 14 && segment[..6].SequenceEqual("Exif\0\0"u8))
            {
                return FromTiff(segment[6..]);
            }

            at += 2 + length;
        }

        return 1;
    }

    private static int FromTiff(ReadOnlySpan<byte> tiff)
    {
        bool little;
        if (tiff[..2].SequenceEqual("II"u8))
        {
            little = true;
        }
        else if (tiff[..2].SequenceEqual("MM"u8))
        {
            little = false;
        }
        else
        {
            return 1;
        }

        var ifd = U32(tiff, 4, little);
        if (ifd > (uint)(tiff.Length - 2))
        {
            return 1;
        }

        var entries = U16(tiff, (int)ifd, little);
        for (var i = 0; i < entries; i++)
        {
            var entry = (int)ifd + 2 + (i * 12);
            if (entry + 12 > tiff.Length)
            {
                break;
            }

            if (U16(tiff, entry, little) == 0x0112 && U16(tiff, entry + 2, little) == 3)
            {
                var value = U16(tiff, entry + 8, little);
                return value is >= 1 and <= 8 ? value : 1;
            }
        }

        return 1;
    }

    private static ushort U16(ReadOnlySpan<byte> tiff, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(tiff[offset..]) : BinaryPrimitives.ReadUInt16BigEndian(tiff[offset..]);

    private static uint U32(ReadOnlySpan<byte> tiff, int offset, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(tiff[offset..]) : BinaryPrimitives.ReadUInt32BigEndian(tiff[offset..]);

    /// <summary>Whether the orientation turns the image a quarter (width and height swap).</summary>
    public static bool SwapsAxes(int orientation) => orientation is >= 5 and <= 8;

    /// <summary>
    /// Writes the upright form of RGBA pixels (<paramref name="width"/> x <paramref name="height"/>, stride
    /// <paramref name="rowBytes"/>) into a rented buffer; returns it with its size (the caller returns it to the shared pool).
    /// </summary>
    public static (byte[] Pixels, int Width, int Height) Apply(ReadOnlySpan<byte> pixels, int width, int height, int rowBytes, int orientation)
    {
        var (outW, outH) = SwapsAxes(orientation) ? (height, width) : (width, height);
        var upright = ArrayPool<byte>.Shared.Rent(outW * outH * 4);
        for (var y = 0; y < outH; y++)
        {
            for (var x = 0; x < outW; x++)
            {
                // The stored pixel that appears at (x, y) once the image is turned as the tag says.
                var (sx, sy) = orientation switch
                {
                    2 => (width - 1 - x, y),
                    3 => (width - 1 - x, height - 1 - y),
                    4 => (x, height - 1 - y),
                    5 => (y, x),
                    6 => (y, height - 1 - x),
                    7 => (width - 1 - y, height - 1 - x),
                    8 => (width - 1 - y, x),
                    _ => (x, y),
                };
                pixels.Slice((sy * rowBytes) + (sx * 4), 4).CopyTo(upright.AsSpan(((y * outW) + x) * 4, 4));
            }
        }

        return (upright, outW, outH);
    }
}
