using Icdiff.Core;
using Icdiff.Synthesis;
using SkiaSharp;

namespace Icdiff.Imaging.Skia.Tests;

/// <summary>A sideways-stored JPEG with an orientation tag decodes to the tensor of the same picture stored upright, on both JPEG decoders.</summary>
public sealed class ExifOrientationTests
{
    private static readonly PreprocessSpec Spec = new(224, 224, ResizeMode.ShortEdgeCenterCrop, 256, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd);

    [Theory]
    [InlineData("auto", 6)]
    [InlineData("auto", 8)]
    [InlineData("auto", 3)]
    [InlineData("auto", 5)]
    [InlineData("skia", 6)]
    [InlineData("skia", 8)]
    [InlineData("skia", 2)]
    [InlineData("skia", 7)]
    public void TaggedSidewaysJpeg_DecodesLikeTheUprightOne(string backend, int orientation)
    {
        var decoder = new SkiaImageDecoder(new DecoderOptions { JpegDecoder = backend });
        using var upright = Picture(640, 400);
        using var stored = StoredFor(upright, orientation);
        var uprightJpeg = upright.Encode(SKEncodedImageFormat.Jpeg, 95).ToArray();
        var storedJpeg = stored.Encode(SKEncodedImageFormat.Jpeg, 95).ToArray();

        var expected = Decode(decoder, uprightJpeg);
        var tagged = Decode(decoder, JpegExif.WithOrientation(storedJpeg, (ushort)orientation));
        var untagged = Decode(decoder, storedJpeg);

        // Re-encoding costs a little; reading the stored pixels as they are costs a lot.
        Assert.True(MeanAbsDifference(expected, tagged) < 0.05, $"tagged: {MeanAbsDifference(expected, tagged):0.000}");
        Assert.True(MeanAbsDifference(expected, untagged) > 0.2, $"untagged: {MeanAbsDifference(expected, untagged):0.000}");
    }

    [Theory]
    [InlineData("auto", 6)]
    [InlineData("auto", 3)]
    [InlineData("skia", 8)]
    [InlineData("skia", 5)]
    public void TaggedSidewaysJpeg_WithExifRotationOff_DecodesAsStored(string backend, int orientation)
    {
        // What the reference code sees: Pillow without ImageOps.exif_transpose gives the stored pixels.
        var decoder = new SkiaImageDecoder(new DecoderOptions { JpegDecoder = backend });
        var asStored = Spec with { ExifRotation = false };
        using var upright = Picture(640, 400);
        using var stored = StoredFor(upright, orientation);
        var uprightJpeg = upright.Encode(SKEncodedImageFormat.Jpeg, 95).ToArray();
        var storedJpeg = stored.Encode(SKEncodedImageFormat.Jpeg, 95).ToArray();
        var taggedJpeg = JpegExif.WithOrientation(storedJpeg, (ushort)orientation);

        var tagged = Decode(decoder, taggedJpeg, asStored);
        var untagged = Decode(decoder, storedJpeg, asStored);
        var rotated = Decode(decoder, taggedJpeg);

        // The tag only adds a segment before the scan: the same pixels, the same tensor.
        Assert.Equal(untagged, tagged);
        Assert.True(MeanAbsDifference(Decode(decoder, uprightJpeg, asStored), tagged) > 0.2, "the switch must leave the picture sideways");
        Assert.True(MeanAbsDifference(rotated, tagged) > 0.2, "without the switch the same file is turned upright");
    }

    private static float[] Decode(SkiaImageDecoder decoder, byte[] jpeg, PreprocessSpec? spec = null)
    {
        spec ??= Spec;
        var tensor = new float[spec.TensorLength];
        Assert.True(decoder.Decode(jpeg, spec, tensor).Succeeded);
        return tensor;
    }

    private static double MeanAbsDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Average();

    private static SKBitmap Picture(int width, int height)
    {
        var bitmap = new SKBitmap(width, height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.Beige);
        var random = new Random(5);
        for (var i = 0; i < 30; i++)
        {
            using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
            canvas.DrawCircle(random.Next(width), random.Next(height), 10 + random.Next(width / 5), paint);
        }

        return bitmap;
    }

    /// <summary>The stored pixels that an orientation tag turns into <paramref name="upright"/> (the inverse of the tag's turn).</summary>
    private static SKBitmap StoredFor(SKBitmap upright, int orientation)
    {
        var swaps = orientation >= 5;
        var (w, h) = swaps ? (upright.Height, upright.Width) : (upright.Width, upright.Height);
        var stored = new SKBitmap(w, h);
        for (var y = 0; y < upright.Height; y++)
        {
            for (var x = 0; x < upright.Width; x++)
            {
                // Upright pixel (x, y) is shown from stored pixel (sx, sy): the EXIF definition of each orientation.
                var (sx, sy) = orientation switch
                {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    8 => (w - 1 - y, x),
                    _ => (x, y),
                };
                stored.SetPixel(sx, sy, upright.GetPixel(x, y));
            }
        }

        return stored;
    }
}
