using System.Buffers;
using Icdiff.Core;
using SkiaSharp;

namespace Icdiff.Imaging.Skia;

/// <summary>
/// Decodes with SkiaSharp's <see cref="SKCodec"/>: the header is read first (pixel budget), JPEGs are decoded
/// at the smallest DCT scale that still covers the target size (several times cheaper than a full decode) unless
/// the spec asks for a full decode, images are turned upright by their EXIF orientation unless the spec says not to
/// (<see cref="PreprocessSpec.FullJpegDecode"/>, <see cref="PreprocessSpec.ExifRotation"/>: the reference
/// pre-processing of PDF-Embedding does neither), then <see cref="AntialiasedResampler"/> resizes and normalises it
/// into the caller's CHW buffer.
/// Alpha is dropped without compositing, as PIL's convert("RGB") does in the reference pre-processing.
/// </summary>
public sealed class SkiaImageDecoder(DecoderOptions options) : IImageDecoder
{
    private readonly bool _turboJpeg = options.JpegDecoder == "auto" && TurboJpeg.IsAvailable;

    /// <summary>Which decoder JPEGs go through, for logs and benchmark reports.</summary>
    public string JpegBackend => _turboJpeg ? "libjpeg-turbo (system)" : "SkiaSharp";

    public unsafe DecodeResult Decode(ReadOnlySpan<byte> encoded, PreprocessSpec spec, Span<float> destination)
    {
        if (destination.Length < spec.TensorLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats; {spec.TensorLength} needed.", nameof(destination));
        }

        if (encoded.IsEmpty)
        {
            return DecodeResult.Failed(SkipReason.Empty, "file is empty (0 bytes)");
        }

        if (encoded.Length > options.MaxEncodedBytes)
        {
            return DecodeResult.Failed(SkipReason.TooLarge, $"file is {encoded.Length} bytes; the limit is {options.MaxEncodedBytes}");
        }

        if (_turboJpeg && encoded.Length > 3 && encoded[0] == 0xFF && encoded[1] == 0xD8 && encoded[2] == 0xFF
            && TryDecodeWithTurbo(encoded, spec, destination) is { } turbo)
        {
            return turbo;
        }

        // Skia reads the caller's bytes in place (no copy); they stay pinned until decoding is over.
        fixed (byte* source = encoded)
        {
            using var data = SKData.Create((IntPtr)source, encoded.Length);
            return DecodePinned(data, encoded, spec, destination);
        }
    }

    private unsafe DecodeResult DecodePinned(SKData data, ReadOnlySpan<byte> encoded, PreprocessSpec spec, Span<float> destination)
    {
        using var codec = SKCodec.Create(data);
        if (codec is null)
        {
            if (ImageSignatures.TryReadBmpSize(encoded, out var bmpWidth, out var bmpHeight) && bmpWidth * bmpHeight > options.MaxPixels)
            {
                return DecodeResult.Failed(SkipReason.TooLarge, $"image declares {bmpWidth}x{bmpHeight} pixels; the limit is {options.MaxPixels}");
            }

            return ImageSignatures.LooksLikeImage(encoded)
                ? DecodeResult.Failed(SkipReason.Corrupt, "image header unreadable")
                : DecodeResult.Failed(SkipReason.NotAnImage, "not a recognised image format");
        }

        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0)
        {
            return DecodeResult.Failed(SkipReason.Corrupt, $"image declares {info.Width}x{info.Height} pixels");
        }

        if ((long)info.Width * info.Height > options.MaxPixels)
        {
            return DecodeResult.Failed(SkipReason.TooLarge, $"image declares {info.Width}x{info.Height} pixels; the limit is {options.MaxPixels}");
        }

        var orientation = spec.ExifRotation ? (int)codec.EncodedOrigin : 1;
        var (needW, needH) = RequiredDecodeSize(info.Width, info.Height, orientation, spec);
        var scaled = spec.FullJpegDecode
            ? new SKSizeI(info.Width, info.Height)
            : ChooseScaledSize(codec, info.Width, info.Height, (int)Math.Ceiling(needW * options.DctOversampling), (int)Math.Ceiling(needH * options.DctOversampling));
        var decodeInfo = new SKImageInfo(scaled.Width, scaled.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);

        // Decoded pixels go to a pooled managed buffer: no native allocation per image.
        var rowBytes = decodeInfo.RowBytes;
        var byteCount = rowBytes * scaled.Height;
        var pixels = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            SKCodecResult result;
            fixed (byte* target = pixels)
            {
                result = codec.GetPixels(decodeInfo, (IntPtr)target);
            }

            if (result != SKCodecResult.Success)
            {
                return Failure(result);
            }

            ResizeUpright(pixels.AsSpan(0, byteCount), scaled.Width, scaled.Height, rowBytes, info.Width, info.Height, orientation, spec, destination);
            return DecodeResult.Ok(info.Width, info.Height);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pixels);
        }
    }

    /// <summary>Decodes a JPEG with libjpeg-turbo; null hands it to Skia (an unreadable header, CMYK, anything refused).</summary>
    private DecodeResult? TryDecodeWithTurbo(ReadOnlySpan<byte> encoded, PreprocessSpec spec, Span<float> destination)
    {
        var handle = TurboJpeg.RentHandle();
        try
        {
            if (!TurboJpeg.TryReadHeader(handle, encoded, out var width, out var height) || width <= 0 || height <= 0)
            {
                return null;
            }

            if ((long)width * height > options.MaxPixels)
            {
                return DecodeResult.Failed(SkipReason.TooLarge, $"image declares {width}x{height} pixels; the limit is {options.MaxPixels}");
            }

            var orientation = spec.ExifRotation ? ExifOrientation.FromJpeg(encoded) : 1;
            var scaled = TurboDecodeSize(width, height, orientation, spec);
            var rowBytes = scaled.Width * 4;
            var byteCount = rowBytes * scaled.Height;
            var pixels = ArrayPool<byte>.Shared.Rent(byteCount);
            try
            {
                switch (TurboJpeg.Decode(handle, encoded, pixels.AsSpan(0, byteCount), scaled.Width, scaled.Height))
                {
                    case TurboResult.Truncated:
                        return DecodeResult.Failed(SkipReason.Truncated, "image data ends before the last row (truncated file)");
                    case TurboResult.Refused:
                        return null;
                }

                ResizeUpright(pixels.AsSpan(0, byteCount), scaled.Width, scaled.Height, rowBytes, width, height, orientation, spec, destination);
                return DecodeResult.Ok(width, height);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(pixels);
            }
        }
        finally
        {
            TurboJpeg.ReturnHandle(handle);
        }
    }

    /// <summary>
    /// The JPEG decode alone, as <see cref="Decode"/> runs it through libjpeg-turbo: the header, then the DCT scale
    /// <see cref="Decode"/> would choose for <paramref name="spec"/>, into RGBA; no orientation, resampling or tensor.
    /// Benchmarks measure it as the floor for JPEGs with this library. False where libjpeg-turbo is not in use, or it
    /// refuses the file (which <see cref="Decode"/> would then hand to Skia).
    /// </summary>
    public unsafe bool DecodeJpegPixelsOnly(ReadOnlySpan<byte> encoded, PreprocessSpec spec, ref byte[] pixels)
    {
        if (!_turboJpeg)
        {
            return false;
        }

        var handle = TurboJpeg.RentHandle();
        try
        {
            if (!TurboJpeg.TryReadHeader(handle, encoded, out var width, out var height) || width <= 0 || height <= 0 || (long)width * height > options.MaxPixels)
            {
                return false;
            }

            var scaled = TurboDecodeSize(width, height, 1, spec);
            var byteCount = scaled.Width * 4 * scaled.Height;
            if (pixels.Length < byteCount)
            {
                pixels = new byte[byteCount];
            }

            return TurboJpeg.Decode(handle, encoded, pixels.AsSpan(0, byteCount), scaled.Width, scaled.Height) == TurboResult.Ok;
        }
        finally
        {
            TurboJpeg.ReturnHandle(handle);
        }
    }

    private SKSizeI TurboDecodeSize(int width, int height, int orientation, PreprocessSpec spec)
    {
        var (needW, needH) = RequiredDecodeSize(width, height, orientation, spec);
        return spec.FullJpegDecode
            ? new SKSizeI(width, height)
            : ChooseScaledSize(width, height, (int)Math.Ceiling(needW * options.DctOversampling), (int)Math.Ceiling(needH * options.DctOversampling));
    }

    /// <summary>The DCT scale Skia's codec would choose: the smallest of 1/8, 1/4, 1/2 that still covers the need.</summary>
    private static SKSizeI ChooseScaledSize(int width, int height, int needW, int needH)
    {
        foreach (var denominator in new[] { 8, 4, 2 })
        {
            var w = (width + denominator - 1) / denominator;
            var h = (height + denominator - 1) / denominator;
            if (w >= needW && h >= needH)
            {
                return new SKSizeI(w, h);
            }
        }

        return new SKSizeI(width, height);
    }

    private static DecodeResult Failure(SKCodecResult result)
    {
        switch (result)
        {
            case SKCodecResult.IncompleteInput:
                return DecodeResult.Failed(SkipReason.Truncated, "image data ends before the last row (truncated file)");
            default:
                return DecodeResult.Failed(SkipReason.Corrupt, $"image data cannot be decoded ({result})");
        }
    }

    /// <summary>
    /// Resizes decoded RGBA pixels into the tensor, turned upright first when the image's orientation tag says so
    /// (the crop window is then computed on the upright sizes).
    /// </summary>
    private static void ResizeUpright(ReadOnlySpan<byte> pixels, int decodedWidth, int decodedHeight, int rowBytes, int originalWidth, int originalHeight, int orientation, PreprocessSpec spec, Span<float> destination)
    {
        if (orientation is < 2 or > 8)
        {
            var window = Window(originalWidth, originalHeight, decodedWidth, decodedHeight, spec);
            AntialiasedResampler.ResizeToTensor(pixels, decodedWidth, decodedHeight, rowBytes, window, spec, destination);
            return;
        }

        var (upright, width, height) = ExifOrientation.Apply(pixels, decodedWidth, decodedHeight, rowBytes, orientation);
        try
        {
            var (uprightW, uprightH) = ExifOrientation.SwapsAxes(orientation) ? (originalHeight, originalWidth) : (originalWidth, originalHeight);
            var window = Window(uprightW, uprightH, width, height, spec);
            AntialiasedResampler.ResizeToTensor(upright.AsSpan(0, width * height * 4), width, height, width * 4, window, spec, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(upright);
        }
    }

    /// <summary>The smallest decoded size from which the target can still be resampled down, never up (in stored axes).</summary>
    private static (int Width, int Height) RequiredDecodeSize(int width, int height, int orientation, PreprocessSpec spec)
    {
        if (spec.Resize == ResizeMode.Squash)
        {
            // The upright image must cover the target; stored axes are swapped for quarter turns.
            return ExifOrientation.SwapsAxes(orientation) ? (spec.Height, spec.Width) : (spec.Width, spec.Height);
        }

        var scale = spec.ShortEdge / (double)Math.Min(width, height);
        return ((int)Math.Ceiling(width * scale), (int)Math.Ceiling(height * scale));
    }

    private static SKSizeI ChooseScaledSize(SKCodec codec, int width, int height, int needW, int needH)
    {
        var best = new SKSizeI(width, height);
        // Only formats with native down-scaling (JPEG's DCT scaling) return smaller sizes here.
        foreach (var scale in new[] { 0.125f, 0.25f, 0.5f })
        {
            var size = codec.GetScaledDimensions(scale);
            if (size.Width >= needW && size.Height >= needH && size.Width < best.Width)
            {
                best = size;
                break;
            }
        }

        return best;
    }

    /// <summary>
    /// The source window, in decoded pixels, that becomes the model input: the whole image for squash, the centre
    /// crop for short-edge mode (computed on the original size so DCT down-scaling does not move it).
    /// </summary>
    private static (float Left, float Top, float Width, float Height) Window(int originalWidth, int originalHeight, int decodedWidth, int decodedHeight, PreprocessSpec spec)
    {
        if (spec.Resize == ResizeMode.Squash)
        {
            return (0, 0, decodedWidth, decodedHeight);
        }

        var toDecoded = decodedWidth / (float)originalWidth;
        var scale = spec.ShortEdge / (float)Math.Min(originalWidth, originalHeight);
        var cropW = spec.Width / scale * toDecoded;
        var cropH = spec.Height / scale * (decodedHeight / (float)originalHeight);
        return ((decodedWidth - cropW) / 2f, (decodedHeight - cropH) / 2f, cropW, cropH);
    }
}
