using SkiaSharp;

namespace Icdiff.Synthesis;

/// <summary>
/// Makes a "generated" image from a gallery image with an edit whose strength matches an intended replication
/// level: 5 re-encodes or rescales; 4 adds a mild crop, colour shift or blur; 3 a strong one; 2 shrinks the
/// copy onto a new background; 1 pastes only a patch of it into a new scene.
/// </summary>
public static class ReplicaTransforms
{
    public static SKBitmap Apply(SKBitmap source, int level, Random random, int width, int height)
    {
        return level switch
        {
            5 => Resize(source, new SKRect(0, 0, source.Width, source.Height), width, height, null, 0),
            4 => Edit(source, random, width, height, keepMin: 0.88f, keepMax: 0.95f, hueMax: 12, blurMax: 1.5f),
            3 => Edit(source, random, width, height, keepMin: 0.55f, keepMax: 0.65f, hueMax: 90, blurMax: 5f),
            2 => Composite(source, random, width, height, scaleMin: 0.5f, scaleMax: 0.62f, patch: false),
            1 => Composite(source, random, width, height, scaleMin: 0.3f, scaleMax: 0.4f, patch: true),
            _ => throw new ArgumentOutOfRangeException(nameof(level), level, "replicas have levels 1..5"),
        };
    }

    private static SKBitmap Edit(SKBitmap source, Random random, int width, int height, float keepMin, float keepMax, float hueMax, float blurMax)
    {
        // Each edit picks a main operation at full strength and light touches of the others.
        var keep = keepMin + ((float)random.NextDouble() * (keepMax - keepMin));
        var operation = random.Next(3);
        var crop = operation == 0 ? keep : 1f - ((1f - keep) * 0.3f);
        var hue = (operation == 1 ? 0.6f + (0.4f * (float)random.NextDouble()) : 0.2f * (float)random.NextDouble()) * hueMax * (random.Next(2) == 0 ? -1 : 1);
        var blur = (operation == 2 ? 0.6f + (0.4f * (float)random.NextDouble()) : 0.2f * (float)random.NextDouble()) * blurMax;

        var cropW = source.Width * crop;
        var cropH = source.Height * crop;
        var left = (float)random.NextDouble() * (source.Width - cropW);
        var top = (float)random.NextDouble() * (source.Height - cropH);
        using var filter = SKColorFilter.CreateColorMatrix(HueRotation(hue, 1f + (((float)random.NextDouble() - 0.5f) * 0.2f)));
        return Resize(source, new SKRect(left, top, left + cropW, top + cropH), width, height, filter, blur);
    }

    private static SKBitmap Composite(SKBitmap source, Random random, int width, int height, float scaleMin, float scaleMax, bool patch)
    {
        var result = SceneGenerator.Draw(random.Next(), width, height);
        using var canvas = new SKCanvas(result);
        using var image = SKImage.FromBitmap(source);
        var scale = scaleMin + ((float)random.NextDouble() * (scaleMax - scaleMin));
        SKRect sourceRect;
        if (patch)
        {
            // A patch of about half the source's side, so the copy covers only part of what the gallery image shows.
            var side = 0.45f + ((float)random.NextDouble() * 0.1f);
            var pw = source.Width * side;
            var ph = source.Height * side;
            var px = (float)random.NextDouble() * (source.Width - pw);
            var py = (float)random.NextDouble() * (source.Height - ph);
            sourceRect = new SKRect(px, py, px + pw, py + ph);
        }
        else
        {
            sourceRect = new SKRect(0, 0, source.Width, source.Height);
        }

        var dw = width * scale;
        var dh = height * scale;
        var dx = (float)random.NextDouble() * (width - dw);
        var dy = (float)random.NextDouble() * (height - dh);
        canvas.DrawImage(image, sourceRect, new SKRect(dx, dy, dx + dw, dy + dh), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        canvas.Flush();
        return result;
    }

    private static SKBitmap Resize(SKBitmap source, SKRect sourceRect, int width, int height, SKColorFilter? colorFilter, float blurSigma)
    {
        var result = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(result);
        using var image = SKImage.FromBitmap(source);
        using var blur = blurSigma > 0.05f ? SKImageFilter.CreateBlur(blurSigma, blurSigma, SKShaderTileMode.Clamp) : null;
        using var paint = new SKPaint { ColorFilter = colorFilter, ImageFilter = blur };
        canvas.DrawImage(image, sourceRect, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear), paint);
        canvas.Flush();
        return result;
    }

    /// <summary>A 4x5 colour matrix rotating hue by <paramref name="degrees"/> and scaling brightness.</summary>
    private static float[] HueRotation(float degrees, float brightness)
    {
        var radians = degrees * MathF.PI / 180f;
        var cos = MathF.Cos(radians);
        var sin = MathF.Sin(radians);
        float[] m =
        [
            0.213f + (cos * 0.787f) - (sin * 0.213f), 0.715f - (cos * 0.715f) - (sin * 0.715f), 0.072f - (cos * 0.072f) + (sin * 0.928f), 0, 0,
            0.213f - (cos * 0.213f) + (sin * 0.143f), 0.715f + (cos * 0.285f) + (sin * 0.140f), 0.072f - (cos * 0.072f) - (sin * 0.283f), 0, 0,
            0.213f - (cos * 0.213f) - (sin * 0.787f), 0.715f - (cos * 0.715f) + (sin * 0.715f), 0.072f + (cos * 0.928f) + (sin * 0.072f), 0, 0,
            0, 0, 0, 1, 0,
        ];
        for (var row = 0; row < 3; row++)
        {
            for (var col = 0; col < 3; col++)
            {
                m[(row * 5) + col] *= brightness;
            }
        }

        return m;
    }
}
