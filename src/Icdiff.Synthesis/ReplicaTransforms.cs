using SkiaSharp;

namespace Icdiff.Synthesis;

/// <summary>
/// Makes a "generated" image from a gallery image with an edit whose strength matches an intended replication
/// level: 5 re-encodes or rescales; 4 adds a mild crop, hue shift or blur; 3 a crop or hue shift that changes
/// the composition; 2 shrinks the copy onto a new background; 1 pastes only a patch of it into a new scene.
/// </summary>
public static class ReplicaTransforms
{
    public static SKBitmap Apply(SKBitmap source, int level, Random random, int width, int height)
    {
        return level switch
        {
            5 => Resize(source, new SKRect(0, 0, source.Width, source.Height), width, height, null, 0),
            4 => Edit(source, random, width, height, Mild),
            3 => Edit(source, random, width, height, Strong),
            2 => Composite(source, random, width, height, scaleMin: 0.5f, scaleMax: 0.62f, patch: false),
            1 => Composite(source, random, width, height, scaleMin: 0.3f, scaleMax: 0.4f, patch: true),
            _ => throw new ArgumentOutOfRangeException(nameof(level), level, "replicas have levels 1..5"),
        };
    }

    /// <summary>
    /// Level 4 keeps the whole composition: a crop that keeps 90-96% of each side, a hue turn of 8-20 degrees or a
    /// blur. Level 3 changes it: a crop that keeps 60-72% of each side or a hue turn of 70-120 degrees.
    /// </summary>
    private static readonly EditStrength Mild = new([(0.90f, 0.96f)], [(8f, 20f)], [(1.5f, 3f)]);
    private static readonly EditStrength Strong = new([(0.60f, 0.72f)], [(70f, 120f)], []);

    private static SKBitmap Edit(SKBitmap source, Random random, int width, int height, EditStrength strength)
    {
        // One main operation at full strength; the others stay at a light touch that does not change the level.
        var operations = (strength.Crop.Length > 0 ? 1 : 0) + (strength.Hue.Length > 0 ? 1 : 0) + (strength.Blur.Length > 0 ? 1 : 0);
        var operation = random.Next(operations);
        var crop = operation == 0 ? Pick(random, strength.Crop[0]) : Pick(random, (0.97f, 1f));
        var hue = (operation == 1 ? Pick(random, strength.Hue[0]) : Pick(random, (0f, 4f))) * (random.Next(2) == 0 ? -1 : 1);
        var blur = operation == 2 ? Pick(random, strength.Blur[0]) : Pick(random, (0f, 0.8f));
        var brightness = 1f + ((Pick(random, (0f, 1f)) - 0.5f) * 0.1f);

        var cropW = source.Width * crop;
        var cropH = source.Height * crop;
        var left = (float)random.NextDouble() * (source.Width - cropW);
        var top = (float)random.NextDouble() * (source.Height - cropH);
        using var filter = SKColorFilter.CreateColorMatrix(HueRotation(hue, brightness));
        return Resize(source, new SKRect(left, top, left + cropW, top + cropH), width, height, filter, blur);
    }

    private static float Pick(Random random, (float Min, float Max) range) => range.Min + ((float)random.NextDouble() * (range.Max - range.Min));

    private sealed record EditStrength((float Min, float Max)[] Crop, (float Min, float Max)[] Hue, (float Min, float Max)[] Blur);

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
