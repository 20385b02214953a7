using System.Runtime.InteropServices;
using SkiaSharp;

namespace Icdiff.Synthesis;

/// <summary>
/// JPEG forms SkiaSharp's encoder cannot write (CMYK, progressive), through the system libjpeg-turbo (Debian
/// <c>libturbojpeg0</c>). Returns null where the library is absent, so a corpus built there simply lacks them.
/// </summary>
public static partial class TurboJpegEncoder
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatRgb = 0;
    private const int PixelFormatCmyk = 11;
    private const int Subsampling444 = 0;
    private const int FlagProgressive = 16384;

    public static unsafe byte[]? TryEncode(SKBitmap bitmap, bool cmyk, bool progressive)
    {
        using (bitmap)
        {
            IntPtr handle;
            try
            {
                handle = tjInitCompress();
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }

            if (handle == IntPtr.Zero)
            {
                return null;
            }

            try
            {
                var channels = cmyk ? 4 : 3;
                var pixels = new byte[bitmap.Width * bitmap.Height * channels];
                for (var y = 0; y < bitmap.Height; y++)
                {
                    for (var x = 0; x < bitmap.Width; x++)
                    {
                        var c = bitmap.GetPixel(x, y);
                        var at = ((y * bitmap.Width) + x) * channels;
                        if (cmyk)
                        {
                            // Adobe-style inverted CMYK, as libjpeg writes it: K = 0, C/M/Y carry the colour.
                            pixels[at] = c.Red;
                            pixels[at + 1] = c.Green;
                            pixels[at + 2] = c.Blue;
                            pixels[at + 3] = 255;
                        }
                        else
                        {
                            pixels[at] = c.Red;
                            pixels[at + 1] = c.Green;
                            pixels[at + 2] = c.Blue;
                        }
                    }
                }

                IntPtr output = IntPtr.Zero;
                nuint size = 0;
                int status;
                fixed (byte* source = pixels)
                {
                    status = tjCompress2(handle, source, bitmap.Width, bitmap.Width * channels, bitmap.Height, cmyk ? PixelFormatCmyk : PixelFormatRgb, ref output, ref size, Subsampling444, 90, progressive ? FlagProgressive : 0);
                }

                if (status != 0 || output == IntPtr.Zero)
                {
                    return null;
                }

                var jpeg = new byte[(int)size];
                Marshal.Copy(output, jpeg, 0, jpeg.Length);
                tjFree(output);
                return jpeg;
            }
            finally
            {
                _ = tjDestroy(handle);
            }
        }
    }

    [LibraryImport(Library)]
    private static partial IntPtr tjInitCompress();

    [LibraryImport(Library)]
    private static unsafe partial int tjCompress2(IntPtr handle, byte* srcBuf, int width, int pitch, int height, int pixelFormat, ref IntPtr jpegBuf, ref nuint jpegSize, int jpegSubsamp, int jpegQual, int flags);

    [LibraryImport(Library)]
    private static partial void tjFree(IntPtr buffer);

    [LibraryImport(Library)]
    private static partial int tjDestroy(IntPtr handle);
}
