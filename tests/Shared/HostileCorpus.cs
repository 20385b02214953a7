using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Icdiff.Synthesis;
using SkiaSharp;

namespace Icdiff.Tests.Shared;

/// <summary>What an audit must do with a hostile file: score it (a valid image in an odd form), skip it with a reason, or not list it.</summary>
public enum HostileOutcome
{
    Scored,
    Skipped,
    NotListed,
}

/// <summary>One file (or entry) of the hostile corpus, and what an audit must do with it.</summary>
/// <param name="Key">Corpus key (path relative to the corpus root, '/'-separated).</param>
/// <param name="Kind">What makes it hostile.</param>
/// <param name="Outcome">What the audit must do.</param>
/// <param name="Reason">For <see cref="HostileOutcome.Skipped"/>, the skip reason code expected.</param>
public sealed record HostileFile(string Key, string Kind, HostileOutcome Outcome, string? Reason = null);

/// <summary>
/// Writes the files a real scrape and a real model dump contain besides clean images: empty, truncated and
/// mislabelled files, unusual encodings (CMYK, 16-bit, palette, grey+alpha, EXIF-rotated, progressive, animated,
/// WebP), decompression bombs, degenerate sizes, hostile names, a folder named like an image, a dangling link and
/// an unreadable file, and nodes that are not files at all (a FIFO, links to devices). Each entry says what an audit must do with it. Deterministic for a seed.
/// </summary>
public static partial class HostileCorpus
{
    public static IReadOnlyList<HostileFile> Build(string folder, int seed)
    {
        Directory.CreateDirectory(folder);
        var files = new List<HostileFile>();
        var random = new Random(seed);

        void Write(string name, byte[] bytes, string kind, HostileOutcome outcome, string? reason = null)
        {
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
            files.Add(new HostileFile(name, kind, outcome, reason));
        }

        var jpeg = Encode(SceneGenerator.Draw(seed, 320, 240), SKEncodedImageFormat.Jpeg);
        var png = Encode(SceneGenerator.Draw(seed + 1, 300, 200), SKEncodedImageFormat.Png);

        Write("zero-bytes.png", [], "zero bytes", HostileOutcome.Skipped, "Empty");
        Write("truncated.jpg", jpeg[..(jpeg.Length * 6 / 10)], "truncated JPEG", HostileOutcome.Skipped, "Truncated");
        Write("truncated.png", png[..(png.Length * 6 / 10)], "truncated PNG", HostileOutcome.Skipped, "Truncated");
        Write("signature-only.png", png[..8], "PNG signature and nothing else", HostileOutcome.Skipped, "Corrupt");
        Write("png-named.jpg", png, "PNG with a .jpg extension", HostileOutcome.Scored);
        Write("notes.jpg", Encoding.UTF8.GetBytes("these are not the pixels you are looking for\n"), "text named .jpg", HostileOutcome.Skipped, "NotAnImage");
        Write("page.jpg", Encoding.UTF8.GetBytes("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"), "HTML named .jpg", HostileOutcome.Skipped, "NotAnImage");
        var noise = new byte[4096];
        random.NextBytes(noise);
        Write("noise.png", noise, "random bytes named .png", HostileOutcome.Skipped, "NotAnImage");
        Write("rgb16.png", Png.Rgb16(SceneGenerator.Draw(seed + 2, 64, 48)), "16-bit RGB PNG", HostileOutcome.Scored);
        Write("palette.png", Png.Palette(64, 48, seed), "palette PNG", HostileOutcome.Scored);
        Write("grey-alpha.png", Png.GreyAlpha(64, 48), "grey + alpha PNG", HostileOutcome.Scored);
        Write("one-pixel.png", Png.GreyAlpha(1, 1), "1x1 image", HostileOutcome.Scored);
        Write("bomb.png", Png.Bomb(60_000, 60_000), "decompression bomb: PNG declaring 60000x60000", HostileOutcome.Skipped, "TooLarge");
        Write("bomb.jpg", JpegWithSize(jpeg, 60_000, 60_000), "decompression bomb: JPEG declaring 60000x60000", HostileOutcome.Skipped, "TooLarge");
        Write("exif-rotated.jpg", JpegExif.WithOrientation(jpeg, 6), "EXIF-rotated JPEG (orientation 6)", HostileOutcome.Scored);
        Write("animated.gif", Gif.Animated(32, 24), "animated GIF (2 frames)", HostileOutcome.Scored);
        Write("image.webp", Encode(SceneGenerator.Draw(seed + 3, 160, 120), SKEncodedImageFormat.Webp), "WebP", HostileOutcome.Scored);
        if (TurboJpegEncoder.TryEncode(SceneGenerator.Draw(seed + 4, 128, 96), cmyk: true, progressive: false) is { } cmyk)
        {
            Write("cmyk.jpg", cmyk, "CMYK JPEG", HostileOutcome.Scored);
        }

        if (TurboJpegEncoder.TryEncode(SceneGenerator.Draw(seed + 5, 128, 96), cmyk: false, progressive: true) is { } progressive)
        {
            Write("progressive.jpg", progressive, "progressive JPEG", HostileOutcome.Scored);
        }

        Write(new string('l', 240) + ".png", png, "240-character file name", HostileOutcome.Scored);
        Write("name with spaces.png", png, "spaces in the name", HostileOutcome.Scored);
        Write("画像-ü-\U0001F642.png", png, "unicode name", HostileOutcome.Scored);
        Write("x..y..png", png, "'..' in the name", HostileOutcome.Scored);
        Write("<script>alert(1)<script>.png", png, "markup in the name (a script tag)", HostileOutcome.Scored);
        Write("<img src=x onerror=alert(2)>.png", png, "markup in the name (an event handler)", HostileOutcome.Scored);
        Write("\"quotes\" & 'ampersands'.png", png, "quotes and ampersand in the name", HostileOutcome.Scored);

        Directory.CreateDirectory(Path.Combine(folder, "folder.jpg"));
        files.Add(new HostileFile("folder.jpg", "a directory named like an image", HostileOutcome.NotListed));

        // A link whose target is gone: listed, then missing when read (the file disappeared between listing and reading).
        File.CreateSymbolicLink(Path.Combine(folder, "gone.png"), Path.Combine(folder, "deleted-before-reading.png"));
        files.Add(new HostileFile("gone.png", "file gone between listing and reading (dangling link)", HostileOutcome.Skipped, "Missing"));

        // Nodes that are not regular files: each must be refused before it is opened (opening a FIFO blocks until a
        // writer comes; /dev/zero never ends), named for what it is.
        if (OperatingSystem.IsLinux())
        {
            Write("bomb.bmp", BmpHeader(60_000, 60_000), "dimension bomb: BMP declaring 60000x60000", HostileOutcome.Skipped, "TooLarge");
            if (MakeFifo(Path.Combine(folder, "pipe.jpg"), 0b110_100_100) == 0)
            {
                files.Add(new HostileFile("pipe.jpg", "a FIFO (named pipe) named .jpg", HostileOutcome.Skipped, "NotARegularFile"));
            }

            File.CreateSymbolicLink(Path.Combine(folder, "zero.png"), "/dev/zero");
            files.Add(new HostileFile("zero.png", "a link to /dev/zero (endless character device)", HostileOutcome.Skipped, "NotARegularFile"));
            File.CreateSymbolicLink(Path.Combine(folder, "null.jpg"), "/dev/null");
            files.Add(new HostileFile("null.jpg", "a link to /dev/null (character device)", HostileOutcome.Skipped, "NotARegularFile"));
        }

        var locked = Path.Combine(folder, "unreadable.png");
        File.WriteAllBytes(locked, png);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(locked, UnixFileMode.None);
        }

        // Root reads it anyway; the expectation follows what this process can do.
        files.Add(CanRead(locked)
            ? new HostileFile("unreadable.png", "no read permission (read anyway: running as root)", HostileOutcome.Scored)
            : new HostileFile("unreadable.png", "no read permission", HostileOutcome.Skipped, "ReadFailed"));
        return files;
    }

    /// <summary>A BMP header (BITMAPINFOHEADER, 24 bits) declaring a size, and a few bytes of pixels.</summary>
    private static byte[] BmpHeader(int width, int height)
    {
        var bmp = new byte[54 + 64];
        "BM"u8.CopyTo(bmp);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        return bmp;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int MakeFifo(string path, uint mode);

    private static bool CanRead(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using (bitmap)
        using (var data = bitmap.Encode(format, 85))
        {
            return data?.ToArray() ?? throw new InvalidOperationException($"SkiaSharp could not encode {format}.");
        }
    }

    /// <summary>Rewrites the frame size in a baseline JPEG's SOF0 segment: a header that promises a huge image.</summary>
    private static byte[] JpegWithSize(byte[] jpeg, int width, int height)
    {
        var copy = (byte[])jpeg.Clone();
        for (var i = 2; i + 9 < copy.Length;)
        {
            if (copy[i] != 0xFF)
            {
                break;
            }

            var marker = copy[i + 1];
            var length = BinaryPrimitives.ReadUInt16BigEndian(copy.AsSpan(i + 2));
            if (marker is 0xC0 or 0xC1 or 0xC2)
            {
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 5), (ushort)height);
                BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(i + 7), (ushort)width);
                return copy;
            }

            i += 2 + length;
        }

        throw new InvalidOperationException("no SOF segment found");
    }

    /// <summary>Minimal PNG writer for the colour types and depths Skia's encoder does not produce.</summary>
    private static class Png
    {
        public static byte[] Rgb16(SKBitmap bitmap)
        {
            using (bitmap)
            {
                return Write(bitmap.Width, bitmap.Height, 16, 2, [], (x, y, row) =>
                {
                    var c = bitmap.GetPixel(x, y);
                    // 16-bit samples: the 8-bit value repeated in both bytes (an exact widening).
                    row.Add(c.Red); row.Add(c.Red); row.Add(c.Green); row.Add(c.Green); row.Add(c.Blue); row.Add(c.Blue);
                });
            }
        }

        public static byte[] Palette(int width, int height, int seed)
        {
            var palette = new byte[16 * 3];
            new Random(seed).NextBytes(palette);
            return Write(width, height, 8, 3, [Chunk("PLTE", palette)], (x, y, row) => row.Add((byte)(((x / 8) + (y / 8)) % 16)));
        }

        public static byte[] GreyAlpha(int width, int height) =>
            Write(width, height, 8, 4, [], (x, y, row) => { row.Add((byte)(x * 255 / Math.Max(1, width - 1))); row.Add((byte)(128 + (y % 128))); });

        /// <summary>A header promising width x height RGB pixels, and one compressed row of data.</summary>
        public static byte[] Bomb(int width, int height)
        {
            using var idat = new MemoryStream();
            using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
            {
                z.Write(new byte[1 + (width * 3)]);
            }

            return [.. Signature, .. Chunk("IHDR", Header(width, height, 8, 2)), .. Chunk("IDAT", idat.ToArray()), .. Chunk("IEND", [])];
        }

        private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

        private static byte[] Write(int width, int height, byte depth, byte colourType, byte[][] extra, Action<int, int, List<byte>> pixel)
        {
            using var idat = new MemoryStream();
            using (var z = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true))
            {
                var row = new List<byte>();
                for (var y = 0; y < height; y++)
                {
                    row.Clear();
                    row.Add(0); // filter: none
                    for (var x = 0; x < width; x++)
                    {
                        pixel(x, y, row);
                    }

                    z.Write(row.ToArray());
                }
            }

            var body = new List<byte>(Signature);
            body.AddRange(Chunk("IHDR", Header(width, height, depth, colourType)));
            foreach (var chunk in extra)
            {
                body.AddRange(chunk);
            }

            body.AddRange(Chunk("IDAT", idat.ToArray()));
            body.AddRange(Chunk("IEND", []));
            return [.. body];
        }

        private static byte[] Header(int width, int height, byte depth, byte colourType)
        {
            var header = new byte[13];
            BinaryPrimitives.WriteInt32BigEndian(header, width);
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
            header[8] = depth;
            header[9] = colourType;
            return header;
        }

        private static byte[] Chunk(string type, byte[] data)
        {
            var chunk = new byte[12 + data.Length];
            BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
            Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
            data.CopyTo(chunk, 8);
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), PngWriter.Crc32(chunk.AsSpan(4, 4 + data.Length)));
            return chunk;
        }
    }

    /// <summary>Minimal GIF89a writer: two frames, a 4-colour palette, LZW codes kept at a fixed width by frequent clear codes.</summary>
    private static class Gif
    {
        public static byte[] Animated(int width, int height)
        {
            var gif = new List<byte>();
            gif.AddRange("GIF89a"u8.ToArray());
            gif.AddRange(BitConverter.GetBytes((ushort)width));
            gif.AddRange(BitConverter.GetBytes((ushort)height));
            gif.AddRange([0xF1, 0, 0]); // global colour table of 4 entries
            gif.AddRange([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
            gif.AddRange([0x21, 0xFF, 0x0B, .. "NETSCAPE2.0"u8.ToArray(), 0x03, 0x01, 0x00, 0x00, 0x00]); // loop forever
            for (var frame = 0; frame < 2; frame++)
            {
                gif.AddRange([0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00]); // 100 ms
                gif.AddRange([0x2C, 0, 0, 0, 0]);
                gif.AddRange(BitConverter.GetBytes((ushort)width));
                gif.AddRange(BitConverter.GetBytes((ushort)height));
                gif.Add(0);
                var pixels = new byte[width * height];
                for (var i = 0; i < pixels.Length; i++)
                {
                    pixels[i] = (byte)((((i % width) / 4) + ((i / width) / 4) + frame) % 4);
                }

                gif.Add(2); // LZW minimum code size
                var data = Lzw(pixels);
                for (var i = 0; i < data.Length; i += 255)
                {
                    var n = Math.Min(255, data.Length - i);
                    gif.Add((byte)n);
                    gif.AddRange(data.AsSpan(i, n).ToArray());
                }

                gif.Add(0);
            }

            gif.Add(0x3B);
            return [.. gif];
        }

        /// <summary>Codes of 3 bits: clear (4) before every two literals, so the table never grows past 3-bit codes; end (5) at the end.</summary>
        private static byte[] Lzw(byte[] pixels)
        {
            var bits = new List<bool>();
            void Emit(int code)
            {
                for (var b = 0; b < 3; b++)
                {
                    bits.Add(((code >> b) & 1) != 0);
                }
            }

            for (var i = 0; i < pixels.Length; i++)
            {
                if (i % 2 == 0)
                {
                    Emit(4);
                }

                Emit(pixels[i]);
            }

            Emit(5);
            var bytes = new byte[(bits.Count + 7) / 8];
            for (var i = 0; i < bits.Count; i++)
            {
                if (bits[i])
                {
                    bytes[i / 8] |= (byte)(1 << (i % 8));
                }
            }

            return bytes;
        }
    }
}
