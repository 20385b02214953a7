using Icdiff.Core;
using Icdiff.Imaging.Skia;
using SkiaSharp;

namespace Icdiff.Imaging.Skia.Tests;

public sealed class SkiaImageDecoderTests
{
    private static readonly PreprocessSpec Spec = new(32, 32, ResizeMode.Squash, 32, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd);
    private readonly SkiaImageDecoder _decoder = new(new DecoderOptions());

    private static byte[] Encode(SKColorType colorType, SKAlphaType alphaType, SKEncodedImageFormat format, SKColor color, int width = 200, int height = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, colorType, alphaType));
        bitmap.Erase(color);
        using var data = bitmap.Encode(format, 95);
        return data.ToArray();
    }

    /// <summary>Undoes the normalisation of channel c at one pixel back to 0..255.</summary>
    private static float Raw(float[] tensor, int channel, int pixel = 0) =>
        ((tensor[(channel * 32 * 32) + pixel] * Spec.Std[channel]) + Spec.Mean[channel]) * 255f;

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    public void Decode_SolidColour_GivesNormalisedChannelsInChwOrder(SKEncodedImageFormat format)
    {
        var tensor = new float[Spec.TensorLength];

        var result = _decoder.Decode(Encode(SKColorType.Rgba8888, SKAlphaType.Premul, format, new SKColor(200, 100, 50)), Spec, tensor);

        Assert.True(result.Succeeded, result.Detail);
        Assert.Equal((200, 100), (result.SourceWidth, result.SourceHeight));
        Assert.Equal(200, Raw(tensor, 0, 500), 0);
        Assert.Equal(100, Raw(tensor, 1, 500), 0);
        Assert.Equal(50, Raw(tensor, 2, 500), 0);
    }

    [Fact]
    public void Decode_Greyscale_RepeatsLumaInAllChannels()
    {
        var tensor = new float[Spec.TensorLength];

        var result = _decoder.Decode(Encode(SKColorType.Gray8, SKAlphaType.Opaque, SKEncodedImageFormat.Png, new SKColor(90, 90, 90)), Spec, tensor);

        Assert.True(result.Succeeded, result.Detail);
        for (var c = 0; c < 3; c++)
        {
            Assert.Equal(90, Raw(tensor, c, 100), 0);
        }
    }

    [Fact]
    public void Decode_TranslucentPng_DropsAlphaWithoutCompositing()
    {
        var tensor = new float[Spec.TensorLength];

        var result = _decoder.Decode(Encode(SKColorType.Rgba8888, SKAlphaType.Unpremul, SKEncodedImageFormat.Png, new SKColor(240, 20, 120, 64)), Spec, tensor);

        Assert.True(result.Succeeded, result.Detail);
        Assert.Equal(240, Raw(tensor, 0, 10), 0);
        Assert.Equal(120, Raw(tensor, 2, 10), 0);
    }

    [Fact]
    public void Decode_LargeJpeg_ScaledDecodeMatchesContent()
    {
        // Left half red, right half blue: after scaled decode + squash the halves must stay where they were.
        using var bitmap = new SKBitmap(new SKImageInfo(2048, 1024));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Blue);
            canvas.DrawRect(new SKRect(0, 0, 1024, 1024), new SKPaint { Color = SKColors.Red });
        }

        using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        var tensor = new float[Spec.TensorLength];

        var result = _decoder.Decode(jpeg.ToArray(), Spec, tensor);

        Assert.True(result.Succeeded, result.Detail);
        Assert.True(Raw(tensor, 0, (16 * 32) + 4) > 230 && Raw(tensor, 2, (16 * 32) + 4) < 25);
        Assert.True(Raw(tensor, 2, (16 * 32) + 28) > 230 && Raw(tensor, 0, (16 * 32) + 28) < 25);
    }

    [Fact]
    public void Decode_ShortEdgeCrop_TakesTheCentre()
    {
        // A 300x100 image whose centre third is green: a short-edge crop sees only green.
        using var bitmap = new SKBitmap(new SKImageInfo(300, 100));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Black);
            canvas.DrawRect(new SKRect(100, 0, 200, 100), new SKPaint { Color = SKColors.Lime });
        }

        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var spec = Spec with { Resize = ResizeMode.ShortEdgeCenterCrop, ShortEdge = 32 };
        var tensor = new float[spec.TensorLength];

        var result = _decoder.Decode(png.ToArray(), spec, tensor);

        Assert.True(result.Succeeded, result.Detail);
        Assert.Equal(255, Raw(tensor, 1, (16 * 32) + 16), 0);
        // Edge pixels blend a little with the black outside the crop, as resize-then-crop does in torchvision.
        Assert.True(Raw(tensor, 1, 0) > 235, $"corner green {Raw(tensor, 1, 0)}");
        Assert.True(Raw(tensor, 1, (32 * 32) - 1) > 235, $"corner green {Raw(tensor, 1, (32 * 32) - 1)}");
    }

    [Fact]
    public void Decode_FineCheckerboard_AveragesToGreyInsteadOfAliasing()
    {
        // One-pixel black/white checks shrunk 16x: an antialiased resize gives uniform mid grey everywhere.
        using var bitmap = new SKBitmap(new SKImageInfo(512, 512, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (var y = 0; y < 512; y++)
        {
            for (var x = 0; x < 512; x++)
            {
                bitmap.SetPixel(x, y, (x + y) % 2 == 0 ? SKColors.White : SKColors.Black);
            }
        }

        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var tensor = new float[Spec.TensorLength];

        var result = _decoder.Decode(png.ToArray(), Spec, tensor);

        Assert.True(result.Succeeded, result.Detail);
        for (var pixel = 0; pixel < 32 * 32; pixel++)
        {
            Assert.InRange(Raw(tensor, 0, pixel), 120f, 135f);
        }
    }

    [Fact]
    public void Decode_Empty_IsSkippedAsEmpty()
    {
        Assert.Equal(SkipReason.Empty, _decoder.Decode([], Spec, new float[Spec.TensorLength]).Skip);
    }

    [Fact]
    public void Decode_Text_IsSkippedAsNotAnImage()
    {
        var result = _decoder.Decode("<html><script>alert(1)</script></html>"u8, Spec, new float[Spec.TensorLength]);

        Assert.Equal(SkipReason.NotAnImage, result.Skip);
    }

    [Fact]
    public void Decode_TruncatedJpeg_IsSkippedAsTruncated()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(400, 400));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Orange);
            canvas.DrawCircle(200, 200, 120, new SKPaint { Color = SKColors.Navy });
        }

        var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90).ToArray();

        var result = _decoder.Decode(jpeg.AsSpan(0, jpeg.Length / 3), Spec, new float[Spec.TensorLength]);

        Assert.Equal(SkipReason.Truncated, result.Skip);
    }

    [Fact]
    public void Decode_CorruptPngHeader_IsSkippedAsCorrupt()
    {
        var png = Encode(SKColorType.Rgba8888, SKAlphaType.Premul, SKEncodedImageFormat.Png, SKColors.Red);
        Array.Fill(png, (byte)0xEE, 8, 40);

        var result = _decoder.Decode(png, Spec, new float[Spec.TensorLength]);

        Assert.Equal(SkipReason.Corrupt, result.Skip);
    }

    [Fact]
    public void Decode_MorePixelsThanBudget_IsSkippedBeforeDecoding()
    {
        var decoder = new SkiaImageDecoder(new DecoderOptions { MaxPixels = 10_000 });

        var result = decoder.Decode(Encode(SKColorType.Rgba8888, SKAlphaType.Premul, SKEncodedImageFormat.Png, SKColors.Red), Spec, new float[Spec.TensorLength]);

        Assert.Equal(SkipReason.TooLarge, result.Skip);
        Assert.Contains("200x100", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(640, 480, false)]
    [InlineData(1600, 1200, false)]
    [InlineData(999, 333, false)]
    [InlineData(800, 600, true)]
    public void SystemLibjpegTurbo_AndSkia_GiveTheSameTensor(int width, int height, bool grey)
    {
        var turbo = new SkiaImageDecoder(new DecoderOptions());
        Assert.SkipWhen(turbo.JpegBackend == "SkiaSharp", "libturbojpeg.so.0 is not installed (Debian libturbojpeg0; .ci/run installs it)");
        var skia = new SkiaImageDecoder(new DecoderOptions { JpegDecoder = "skia" });
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888, grey ? SKAlphaType.Opaque : SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.Beige);
            var random = new Random(width + height);
            for (var i = 0; i < 40; i++)
            {
                using var paint = new SKPaint { Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)), IsAntialias = true };
                canvas.DrawCircle(random.Next(width), random.Next(height), 10 + random.Next(width / 4), paint);
            }
        }

        var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 88).ToArray();
        var spec = new PreprocessSpec(224, 224, ResizeMode.ShortEdgeCenterCrop, 256, PreprocessSpec.ImageNetMean, PreprocessSpec.ImageNetStd);
        var a = new float[spec.TensorLength];
        var b = new float[spec.TensorLength];

        Assert.True(turbo.Decode(jpeg, spec, a).Succeeded);
        Assert.True(skia.Decode(jpeg, spec, b).Succeeded);

        // Same library family, same DCT scale, same resampler: any difference is IDCT/upsampling rounding, a level or two of 255.
        var maxDifference = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            maxDifference = Math.Max(maxDifference, Math.Abs(a[i] - b[i]) * Spec.Std[i / (224 * 224)] * 255f);
        }

        Assert.True(maxDifference <= 3f, $"largest difference {maxDifference:0.00} of 255");
    }

    [Fact]
    public void Jpeg_MorePixelsThanBudget_IsSkippedBeforeDecoding_WhicheverDecoderReadsIt()
    {
        var jpeg = Encode(SKColorType.Rgba8888, SKAlphaType.Premul, SKEncodedImageFormat.Jpeg, SKColors.Red);

        foreach (var backend in new[] { "auto", "skia" })
        {
            var result = new SkiaImageDecoder(new DecoderOptions { MaxPixels = 10_000, JpegDecoder = backend }).Decode(jpeg, Spec, new float[Spec.TensorLength]);
            Assert.Equal(SkipReason.TooLarge, result.Skip);
        }
    }
}
