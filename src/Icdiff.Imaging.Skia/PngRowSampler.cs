using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Icdiff.Imaging.Skia;

/// <summary>
/// Reads a non-interlaced 8-bit PNG one row at a time (inflating its IDAT data as a stream and undoing each row's filter
/// against the previous row only) and keeps the rows and columns a thumbnail samples. Skia's PNG codec here cannot decode
/// scanline by scanline (it answers Unimplemented) and would need the whole image in memory; this needs two rows.
/// Returns false for anything else (interlaced, 16-bit or sub-byte samples, damaged data): the caller refuses those.
/// </summary>
internal static class PngRowSampler
{
    public static bool TrySample(ReadOnlySpan<byte> png, int targetW, int targetH, Span<byte> rgba)
    {
        if (png.Length < 33 || BinaryPrimitives.ReadUInt32BigEndian(png[8..]) != 13 || !png.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            return false;
        }

        var width = BinaryPrimitives.ReadInt32BigEndian(png[16..]);
        var height = BinaryPrimitives.ReadInt32BigEndian(png[20..]);
        int depth = png[24], colour = png[25], interlace = png[28];
        var channels = colour switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        if (depth != 8 || channels == 0 || interlace != 0 || width <= 0 || height <= 0)
        {
            return false;
        }

        // The compressed data (all IDAT chunks, in order) and the palette, located without copying the pixels.
        using var idat = new MemoryStream();
        ReadOnlySpan<byte> palette = default;
        for (var at = 8; at + 12 <= png.Length;)
        {
            var length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(png[at..]), int.MaxValue);
            if (at + 12L + length > png.Length)
            {
                return false;
            }

            var type = png.Slice(at + 4, 4);
            var data = png.Slice(at + 8, length);
            if (type.SequenceEqual("IDAT"u8))
            {
                idat.Write(data);
            }
            else if (type.SequenceEqual("PLTE"u8))
            {
                palette = data;
            }
            else if (type.SequenceEqual("IEND"u8))
            {
                break;
            }

            at += 12 + length;
        }

        if (colour == 3 && palette.Length < 3)
        {
            return false;
        }

        idat.Position = 0;
        var stride = width * channels;
        var current = ArrayPool<byte>.Shared.Rent(stride + 1);
        var previous = ArrayPool<byte>.Shared.Rent(stride + 1);
        try
        {
            using var inflate = new ZLibStream(idat, CompressionMode.Decompress);
            Array.Clear(previous, 0, stride + 1);
            var next = 0;
            for (var y = 0; y < height && next < targetH; y++)
            {
                try
                {
                    inflate.ReadExactly(current, 0, stride + 1);
                }
                catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException)
                {
                    return false;
                }

                if (!Unfilter(current.AsSpan(0, stride + 1), previous.AsSpan(1, stride), channels))
                {
                    return false;
                }

                while (next < targetH && (int)(((next + 0.5) * height) / targetH) == y)
                {
                    Sample(current.AsSpan(1, stride), width, channels, colour, palette, rgba.Slice(next * targetW * 4, targetW * 4), targetW);
                    next++;
                }

                (current, previous) = (previous, current);
            }

            return next == targetH;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(previous);
        }
    }

    /// <summary>Undoes the row's filter in place (PNG filter types 0-4) against the previous, already unfiltered, row.</summary>
    private static bool Unfilter(Span<byte> row, ReadOnlySpan<byte> above, int bpp)
    {
        var filter = row[0];
        var line = row[1..];
        switch (filter)
        {
            case 0:
                return true;
            case 1:
                for (var i = bpp; i < line.Length; i++)
                {
                    line[i] += line[i - bpp];
                }

                return true;
            case 2:
                for (var i = 0; i < line.Length; i++)
                {
                    line[i] += above[i];
                }

                return true;
            case 3:
                for (var i = 0; i < line.Length; i++)
                {
                    line[i] += (byte)(((i >= bpp ? line[i - bpp] : 0) + above[i]) / 2);
                }

                return true;
            case 4:
                for (var i = 0; i < line.Length; i++)
                {
                    int a = i >= bpp ? line[i - bpp] : 0, b = above[i], c = i >= bpp ? above[i - bpp] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    line[i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>Picks the columns nearest each thumbnail column, as RGBA (alpha composited later by the encoder's canvas).</summary>
    private static void Sample(ReadOnlySpan<byte> line, int width, int channels, int colour, ReadOnlySpan<byte> palette, Span<byte> target, int targetW)
    {
        for (var x = 0; x < targetW; x++)
        {
            var s = (int)(((x + 0.5) * width) / targetW) * channels;
            byte r, g, b, a = 255;
            switch (colour)
            {
                case 0:
                    r = g = b = line[s];
                    break;
                case 4:
                    r = g = b = line[s];
                    a = line[s + 1];
                    break;
                case 3:
                    var index = Math.Min(line[s], (palette.Length / 3) - 1) * 3;
                    (r, g, b) = (palette[index], palette[index + 1], palette[index + 2]);
                    break;
                default:
                    (r, g, b) = (line[s], line[s + 1], line[s + 2]);
                    a = channels == 4 ? line[s + 3] : (byte)255;
                    break;
            }

            // Premultiplied, as the thumbnail bitmap holds it.
            target[(x * 4) + 0] = (byte)(r * a / 255);
            target[(x * 4) + 1] = (byte)(g * a / 255);
            target[(x * 4) + 2] = (byte)(b * a / 255);
            target[(x * 4) + 3] = a;
        }
    }
}
