using Icdiff.Core;
using SkiaSharp;

namespace Icdiff.Imaging.Skia.Tests;

/// <summary>
/// Under <see cref="PreprocessSpec.FullJpegDecode"/> a large JPEG becomes the tensor of its full-resolution pixels
/// resized (the reference pre-processing), not of a DCT-scaled decode.
/// </summary>
public sealed class FullJpegDecodeTests
{
    private static readonly PreprocessSpec Scaled = new(224, 224, ResizeMode.Squash, 224, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd);
    private static readonly PreprocessSpec Full = Scaled with { FullJpegDecode = true };

    [Theory]
    [InlineData("skia", 0.5f)]
    [InlineData("auto", 3f)]
    public void LargeJpeg_UnderTheSwitch_MatchesAFullDecodeAndResize_NotTheDctScaledOne(string backend, float tolerance)
    {
        var decoder = new SkiaImageDecoder(new DecoderOptions { JpegDecoder = backend });
        var jpeg = FineTexture(2400, 1800).Encode(SKEncodedImageFormat.Jpeg, 92).ToArray();
        // The full decode, kept losslessly: a PNG of every decoded pixel, which no decoder down-scales.
        using var decoded = SKBitmap.Decode(jpeg);
        Assert.Equal(2400, decoded.Width);
        var fullPixels = decoded.Encode(SKEncodedImageFormat.Png, 100).ToArray();

        var reference = Decode(decoder, fullPixels, Full);
        var full = Decode(decoder, jpeg, Full);
        var scaled = Decode(decoder, jpeg, Scaled);

        // Skia decodes the same pixels both times (0 difference); libjpeg-turbo's IDCT rounds a level or two apart.
        Assert.True(MaxDifference(reference, full) <= tolerance, $"full decode: largest difference {MaxDifference(reference, full):0.00} of 255");
        Assert.True(MaxDifference(reference, scaled) > 2 * Math.Max(tolerance, 3f), $"DCT-scaled decode: largest difference only {MaxDifference(reference, scaled):0.00} of 255");
        Assert.True(MeanDifference(reference, full) < MeanDifference(reference, scaled) / 4, $"mean difference full {MeanDifference(reference, full):0.000}, scaled {MeanDifference(reference, scaled):0.000}");
    }

    [Fact]
    public void SmallJpeg_UnderTheSwitch_IsDecodedAsBefore()
    {
        // No DCT scale covers 224 from 300x200, so both modes decode in full.
        var decoder = new SkiaImageDecoder(new DecoderOptions { JpegDecoder = "skia" });
        var jpeg = FineTexture(300, 200).Encode(SKEncodedImageFormat.Jpeg, 92).ToArray();

        Assert.Equal(Decode(decoder, jpeg, Scaled), Decode(decoder, jpeg, Full));
    }

    private static float[] Decode(SkiaImageDecoder decoder, byte[] encoded, PreprocessSpec spec)
    {
        var tensor = new float[spec.TensorLength];
        var result = decoder.Decode(encoded, spec, tensor);
        Assert.True(result.Succeeded, result.Detail);
        return tensor;
    }

    /// <summary>Largest difference in levels of 255 (the tensor is normalised by the ImageNet std).</summary>
    private static float MaxDifference(float[] a, float[] b)
    {
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]) * Scaled.Std[i / (224 * 224)] * 255f);
        }

        return max;
    }

    private static double MeanDifference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Average();

    /// <summary>Fine detail (thin lines, small dots) where a DCT-scaled decode and a full decode part ways.</summary>
    private static SKBitmap FineTexture(int width, int height)
    {
        var bitmap = new SKBitmap(width, height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.Beige);
        var random = new Random(width);
        using var paint = new SKPaint { IsAntialias = false, StrokeWidth = 1 };
        for (var i = 0; i < width * 3; i++)
        {
            paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
            var x = random.Next(width);
            var y = random.Next(height);
            canvas.DrawLine(x, y, x + random.Next(-40, 40), y + random.Next(-40, 40), paint);
        }

        return bitmap;
    }
}
