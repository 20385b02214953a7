using Icdiff.Core;
using Icdiff.Imaging.Skia;
using SkiaSharp;

namespace Icdiff.Imaging.Skia.Tests;

/// <summary>
/// The vectorised resampler (four taps per step, padded weights, a fused vertical pass with a scalar tail) against a
/// plain double-precision separable bicubic written from its definition: PIL's kernel (a = -0.5) widened by the
/// reduction factor, weights normalised per output pixel, the 8-bit clamp after both passes, then (v/255 - mean)/std.
/// Random noise through a lossless PNG makes every tap count; the sizes leave tails of every kind.
/// </summary>
public sealed class ResamplerReferenceTests
{
    [Theory]
    [InlineData(301, 187, 37, 29, ResizeMode.Squash, 0)] // down in both axes, widths not a multiple of the vector
    [InlineData(50, 40, 64, 64, ResizeMode.Squash, 0)] // up in both axes (the kernel keeps its base width)
    [InlineData(97, 300, 8, 61, ResizeMode.Squash, 0)] // one output vector wide, strongly reduced vertically
    [InlineData(640, 480, 45, 45, ResizeMode.ShortEdgeCenterCrop, 52)] // centre crop with a fractional window
    public void Decode_MatchesAPlainBicubicReference(int width, int height, int outW, int outH, ResizeMode mode, int shortEdge)
    {
        var spec = new PreprocessSpec(outW, outH, mode, shortEdge == 0 ? outW : shortEdge, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd);
        var random = new Random(width * 31 + height);
        var rgb = new byte[width * height * 3];
        random.NextBytes(rgb);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = ((y * width) + x) * 3;
                bitmap.SetPixel(x, y, new SKColor(rgb[i], rgb[i + 1], rgb[i + 2]));
            }
        }

        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var tensor = new float[spec.TensorLength];

        var result = new SkiaImageDecoder(new DecoderOptions()).Decode(png.ToArray(), spec, tensor);

        Assert.True(result.Succeeded, result.Detail);
        var (left, top, windowW, windowH) = Window(width, height, spec);
        var horizontal = Weights(left, windowW, width, outW);
        var vertical = Weights(top, windowH, height, outH);
        var worst = 0.0;
        for (var c = 0; c < 3; c++)
        {
            for (var oy = 0; oy < outH; oy++)
            {
                for (var ox = 0; ox < outW; ox++)
                {
                    var sum = 0.0;
                    foreach (var (sy, wy) in vertical[oy])
                    {
                        var row = 0.0;
                        foreach (var (sx, wx) in horizontal[ox])
                        {
                            row += rgb[(((sy * width) + sx) * 3) + c] * wx;
                        }

                        sum += row * wy;
                    }

                    var expected = ((Math.Clamp(sum, 0, 255) / 255) - spec.Mean[c]) / spec.Std[c];
                    worst = Math.Max(worst, Math.Abs(expected - tensor[(c * outW * outH) + (oy * outW) + ox]));
                }
            }
        }

        // 1e-4 in normalised units is 0.006 of one 8-bit step: float rounding, nothing structural.
        Assert.True(worst < 1e-4, $"largest difference from the reference {worst}");
    }

    private static (double Left, double Top, double Width, double Height) Window(int width, int height, PreprocessSpec spec)
    {
        if (spec.Resize == ResizeMode.Squash)
        {
            return (0, 0, width, height);
        }

        var scale = spec.ShortEdge / (double)Math.Min(width, height);
        var cropW = spec.Width / scale;
        var cropH = spec.Height / scale;
        return ((width - cropW) / 2, (height - cropH) / 2, cropW, cropH);
    }

    private static List<(int Source, double Weight)>[] Weights(double start, double size, int length, int outSize)
    {
        var scale = size / outSize;
        var filterScale = Math.Max(scale, 1);
        var support = 2 * filterScale;
        var all = new List<(int, double)>[outSize];
        for (var i = 0; i < outSize; i++)
        {
            var center = start + ((i + 0.5) * scale);
            var min = Math.Max(0, (int)Math.Floor(center - support + 0.5));
            var max = Math.Min(length, (int)Math.Floor(center + support + 0.5));
            var taps = Enumerable.Range(min, max - min).Select(x => (x, Cubic((x + 0.5 - center) / filterScale))).ToList();
            var total = taps.Sum(t => t.Item2);
            all[i] = taps.Select(t => (t.x, t.Item2 / total)).ToList();
        }

        return all;
    }

    private static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        return x < 1 ? ((((a + 2) * x) - (a + 3)) * x * x) + 1 : x < 2 ? (((((x - 5) * x) + 8) * x) - 4) * a : 0;
    }
}
