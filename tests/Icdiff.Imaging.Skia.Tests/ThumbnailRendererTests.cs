using Icdiff.Tests.Shared;
using SkiaSharp;

namespace Icdiff.Imaging.Skia.Tests;

/// <summary>Thumbnails within a pixel budget: large PNGs decoded row by row, JPEGs at a DCT scale, a budget refused before decoding.</summary>
public sealed class ThumbnailRendererTests
{
    [Fact]
    public void LargePng_IsDecodedRowByRow_IntoAThumbnailOfTheRightShapeAndColour()
    {
        var png = Png(6000, 4000);

        var jpeg = ThumbnailRenderer.RenderJpeg(png, 192);

        Assert.NotNull(jpeg);
        using var thumb = SKBitmap.Decode(jpeg);
        Assert.Equal((192, 128), (thumb.Width, thumb.Height));
        // Rows are a vertical gradient from black to white: the top is dark, the bottom light.
        Assert.True(thumb.GetPixel(96, 2).Red < 30 && thumb.GetPixel(96, 125).Red > 225, $"{thumb.GetPixel(96, 2)} / {thumb.GetPixel(96, 125)}");
    }

    [Fact]
    public void LargePngWithFilteredRows_FromSkiasEncoder_SamplesToTheSameColoursAsTheImage()
    {
        // 4200x4000 (over the whole-decode size): a horizontal red ramp and a vertical blue ramp; Skia's encoder picks
        // the Sub/Up/Average/Paeth filters per row, which the row sampler must undo.
        using var bitmap = new SKBitmap(4200, 4000, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint())
        {
            paint.Shader = SKShader.CreateCompose(
                SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(4200, 0), [SKColors.Black, SKColors.Red], SKShaderTileMode.Clamp),
                SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, 4000), [SKColors.Black, SKColors.Blue], SKShaderTileMode.Clamp),
                SKBlendMode.Plus);
            canvas.DrawRect(0, 0, 4200, 4000, paint);
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);

        var jpeg = ThumbnailRenderer.RenderJpeg(data.Span, 192);

        Assert.NotNull(jpeg);
        using var thumb = SKBitmap.Decode(jpeg);
        foreach (var (x, y) in new[] { (10, 10), (180, 10), (10, 170), (180, 170), (96, 91) })
        {
            var expected = bitmap.GetPixel(x * 4200 / thumb.Width, y * 4000 / thumb.Height);
            var actual = thumb.GetPixel(x, y);
            Assert.True(Math.Abs(expected.Red - actual.Red) < 16 && Math.Abs(expected.Blue - actual.Blue) < 16, $"({x},{y}): {actual} where the image has {expected}");
        }
    }

    [Fact]
    public void AnImageOverThePixelBudget_IsRefusedBeforeDecoding()
    {
        Assert.Null(ThumbnailRenderer.RenderJpeg(Png(2000, 1000), 192, maxPixels: 1_999_999));
        Assert.NotNull(ThumbnailRenderer.RenderJpeg(Png(2000, 1000), 192, maxPixels: 2_000_000));
    }

    /// <summary>An RGB PNG whose rows go from black to white, streamed through zlib.</summary>
    private static byte[] Png(int width, int height)
    {
        using var file = new MemoryStream();
        PngWriter.WriteGreyRows(file, width, height, y => (byte)(y * 255 / (height - 1)));
        return file.ToArray();
    }
}
