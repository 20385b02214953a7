using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Icdiff.Imaging.Skia;

/// <summary>
/// The TurboJPEG API of the system's libjpeg-turbo (Debian <c>libturbojpeg0</c>), the same SIMD build Pillow uses.
/// SkiaSharp bundles its own JPEG decoder; on the same DCT scale the system library decodes faster, so JPEGs go
/// through it when it can be loaded and through Skia otherwise (and for anything it refuses, such as CMYK).
/// Handles are pooled: one per concurrent decoder, created on demand, never shared between threads at once.
/// </summary>
internal static partial class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatRgba = 7;
    private const int ErrorWarning = 0;

    private static readonly Lazy<bool> Loaded = new(TryLoad);
    private static readonly ConcurrentBag<IntPtr> Handles = [];

    public static bool IsAvailable => Loaded.Value;

    public static IntPtr RentHandle() => Handles.TryTake(out var handle) ? handle : tjInitDecompress();

    public static void ReturnHandle(IntPtr handle)
    {
        if (handle != IntPtr.Zero)
        {
            Handles.Add(handle);
        }
    }

    public static unsafe bool TryReadHeader(IntPtr handle, ReadOnlySpan<byte> jpeg, out int width, out int height)
    {
        fixed (byte* source = jpeg)
        {
            return tjDecompressHeader3(handle, source, (nuint)jpeg.Length, out width, out height, out _, out _) == 0;
        }
    }

    /// <summary>Decodes to RGBA at exactly <paramref name="width"/> x <paramref name="height"/> (a DCT scale of the image).</summary>
    public static unsafe TurboResult Decode(IntPtr handle, ReadOnlySpan<byte> jpeg, Span<byte> rgba, int width, int height)
    {
        int status;
        fixed (byte* source = jpeg)
        fixed (byte* target = rgba)
        {
            status = tjDecompress2(handle, source, (nuint)jpeg.Length, target, width, width * 4, height, PixelFormatRgba, 0);
        }

        if (status == 0)
        {
            return TurboResult.Ok;
        }

        var message = Marshal.PtrToStringUTF8(tjGetErrorStr2(handle)) ?? string.Empty;
        if (message.Contains("Premature end", StringComparison.OrdinalIgnoreCase))
        {
            return TurboResult.Truncated;
        }

        // Other warnings (extraneous bytes, corrupt data that was still decoded) leave a full image, as Skia's decoder does.
        return tjGetErrorCode(handle) == ErrorWarning ? TurboResult.Ok : TurboResult.Refused;
    }

    private static bool TryLoad()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Library, out var library))
        {
            return false;
        }

        NativeLibrary.Free(library);
        try
        {
            var handle = tjInitDecompress();
            if (handle == IntPtr.Zero)
            {
                return false;
            }

            Handles.Add(handle);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport(Library)]
    private static partial IntPtr tjInitDecompress();

    [LibraryImport(Library)]
    private static unsafe partial int tjDecompressHeader3(IntPtr handle, byte* jpegBuf, nuint jpegSize, out int width, out int height, out int jpegSubsamp, out int jpegColorspace);

    [LibraryImport(Library)]
    private static unsafe partial int tjDecompress2(IntPtr handle, byte* jpegBuf, nuint jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(Library)]
    private static partial IntPtr tjGetErrorStr2(IntPtr handle);

    [LibraryImport(Library)]
    private static partial int tjGetErrorCode(IntPtr handle);
}

internal enum TurboResult
{
    Ok,
    Truncated,
    Refused,
}
