using SkiaSharp;

namespace Icdiff.Imaging.Skia;

/// <summary>Small JPEG thumbnails for reports; returns null for anything that does not decode.</summary>
public static class ThumbnailRenderer
{
    public static byte[]? RenderJpeg(ReadOnlySpan<byte> encoded, int maxEdge, long maxPixels = 100_000_000)
    {
        if (encoded.IsEmpty)
        {
            return null;
        }

        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        if (codec is null || (long)codec.Info.Width * codec.Info.Height > maxPixels || codec.Info.Width <= 0 || codec.Info.Height <= 0)
        {
            return null;
        }

        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var full = new SKBitmap(info);
        if (codec.GetPixels(info, full.GetPixels()) != SKCodecResult.Success)
        {
            return null;
        }

        var scale = Math.Min(1f, maxEdge / (float)Math.Max(info.Width, info.Height));
        var w = Math.Max(1, (int)(info.Width * scale));
        var h = Math.Max(1, (int)(info.Height * scale));
        using var small = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(small))
        {
            canvas.Clear(SKColors.White);
            using var image = SKImage.FromBitmap(full);
            canvas.DrawImage(image, new SKRect(0, 0, w, h), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }

        using var encodedThumb = small.Encode(SKEncodedImageFormat.Jpeg, 80);
        return encodedThumb?.ToArray();
    }
}
