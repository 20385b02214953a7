using SkiaSharp;

namespace Icdiff.Imaging.Skia;

/// <summary>
/// Small JPEG thumbnails for reports and the dashboard, decoded within a pixel budget: the header is read first and an
/// image declaring more than <c>maxPixels</c> is refused before any pixel is decoded (as the pipeline's decoder does);
/// JPEG and WebP decode at the smallest native scale that still covers the thumbnail (DCT scaling, as the pipeline);
/// a large PNG goes row by row, keeping only the rows and columns the thumbnail samples, so a 100-megapixel PNG costs
/// two rows of memory, not 400 MB; other formats decode whole only up to 16 megapixels. Returns null for anything
/// that does not decode.
/// </summary>
public static class ThumbnailRenderer
{
    /// <summary>Pixels a format without row-by-row decoding (interlaced PNG, GIF) may decode whole for a thumbnail.</summary>
    private const long MaxWholeDecodePixels = 16_000_000;

    public static byte[]? RenderJpeg(ReadOnlySpan<byte> encoded, int maxEdge, long maxPixels = 100_000_000)
    {
        if (encoded.IsEmpty)
        {
            return null;
        }

        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0 || (long)codec.Info.Width * codec.Info.Height > maxPixels)
        {
            return null;
        }

        using var small = DecodeSmall(codec, encoded, maxEdge);
        if (small is null)
        {
            return null;
        }

        using var encodedThumb = small.Encode(SKEncodedImageFormat.Jpeg, 80);
        return encodedThumb?.ToArray();
    }

    private static SKBitmap? DecodeSmall(SKCodec codec, ReadOnlySpan<byte> encoded, int maxEdge)
    {
        var width = codec.Info.Width;
        var height = codec.Info.Height;
        var scale = Math.Min(1f, maxEdge / (float)Math.Max(width, height));
        var targetW = Math.Max(1, (int)(width * scale));
        var targetH = Math.Max(1, (int)(height * scale));

        // Native down-scaling (JPEG DCT, WebP): the smallest decoded size that still covers the thumbnail.
        var decoded = new SKSizeI(width, height);
        foreach (var factor in new[] { 0.125f, 0.25f, 0.5f })
        {
            var size = codec.GetScaledDimensions(factor);
            if (size.Width >= targetW && size.Height >= targetH && size.Width < decoded.Width)
            {
                decoded = size;
                break;
            }
        }

        if (decoded.Width < width || (long)width * height <= MaxWholeDecodePixels)
        {
            return DecodeWhole(codec, decoded, targetW, targetH);
        }

        return codec.EncodedFormat == SKEncodedImageFormat.Png ? DecodeSampledRows(encoded, targetW, targetH) : null;
    }

    private static SKBitmap? DecodeWhole(SKCodec codec, SKSizeI decoded, int targetW, int targetH)
    {
        var info = new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var full = new SKBitmap(info);
        var result = codec.GetPixels(info, full.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            return null;
        }

        var small = new SKBitmap(new SKImageInfo(targetW, targetH, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(small))
        {
            canvas.Clear(SKColors.White);
            using var image = SKImage.FromBitmap(full);
            canvas.DrawImage(image, new SKRect(0, 0, targetW, targetH), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }

        return small;
    }

    /// <summary>
    /// A large PNG, row by row with only the sampled rows and columns kept (see <see cref="PngRowSampler"/>): memory is
    /// two source rows plus the thumbnail. Null for other formats too large to decode whole.
    /// </summary>
    private static unsafe SKBitmap? DecodeSampledRows(ReadOnlySpan<byte> encoded, int targetW, int targetH)
    {
        var small = new SKBitmap(new SKImageInfo(targetW, targetH, SKColorType.Rgba8888, SKAlphaType.Premul));
        var pixels = new Span<byte>((void*)small.GetPixels(), targetH * small.RowBytes);
        if (small.RowBytes != targetW * 4 || !PngRowSampler.TrySample(encoded, targetW, targetH, pixels))
        {
            small.Dispose();
            return null;
        }

        small.NotifyPixelsChanged();
        return small;
    }
}
