using Icdiff.Core;
using SkiaSharp;

namespace Icdiff.Imaging.Skia;

/// <summary>RGBA8888 pixels to a normalised CHW float tensor: (v / 255 - mean) / std per channel, via lookup tables.</summary>
internal static class TensorWriter
{
    public static void WriteChw(SKBitmap bitmap, PreprocessSpec spec, Span<float> destination)
    {
        Span<float> lut = stackalloc float[3 * 256];
        for (var c = 0; c < 3; c++)
        {
            var scale = 1f / (255f * spec.Std[c]);
            var offset = spec.Mean[c] / spec.Std[c];
            for (var v = 0; v < 256; v++)
            {
                lut[(c * 256) + v] = (v * scale) - offset;
            }
        }

        var plane = spec.Width * spec.Height;
        var red = destination[..plane];
        var green = destination.Slice(plane, plane);
        var blue = destination.Slice(2 * plane, plane);
        var pixels = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        var i = 0;
        for (var y = 0; y < spec.Height; y++)
        {
            var row = pixels.Slice(y * rowBytes, spec.Width * 4);
            for (var x = 0; x < row.Length; x += 4, i++)
            {
                red[i] = lut[row[x]];
                green[i] = lut[256 + row[x + 1]];
                blue[i] = lut[512 + row[x + 2]];
            }
        }
    }
}
