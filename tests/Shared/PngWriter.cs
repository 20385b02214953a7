using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Icdiff.Tests.Shared;

/// <summary>
/// Writes PNGs chunk by chunk, for tests that need images no encoder in memory would make for them: very large ones
/// (streamed to disk, rows generated as they are compressed) and ones whose every byte the test chooses.
/// </summary>
public static class PngWriter
{
    /// <summary>
    /// An 8-bit RGB PNG of <paramref name="width"/> x <paramref name="height"/> whose row y is grey at
    /// <paramref name="shade"/>(y), written to <paramref name="stream"/>: rows are generated as zlib takes them, so only
    /// the compressed data is ever in memory.
    /// </summary>
    public static void WriteGreyRows(Stream stream, int width, int height, Func<int, byte> shade)
    {
        stream.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = 2;
        WriteChunk(stream, "IHDR", header);
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + (width * 3)];
            for (var y = 0; y < height; y++)
            {
                Array.Fill(row, shade(y), 1, row.Length - 1);
                z.Write(row);
            }
        }

        WriteChunk(stream, "IDAT", idat.ToArray());
        WriteChunk(stream, "IEND", []);
    }

    /// <summary>One chunk: its length, type, data and the CRC of type and data.</summary>
    public static void WriteChunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var body = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, body);
        data.CopyTo(body, 4);
        stream.Write(body);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body));
        stream.Write(crc);
    }

    /// <summary>The CRC-32 (ISO-HDLC, as PNG's chunks carry it) of <paramref name="bytes"/>.</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
