using SkiaSharp;

namespace Icdiff.Synthesis;

/// <summary>
/// Draws a procedural scene: a gradient or textured background, a handful of shapes and sometimes text.
/// The same seed always gives the same picture, so corpora are reproducible without storing them.
/// </summary>
public static class SceneGenerator
{
    private static readonly string[] Words =
    [
        "harbor", "lumen", "quartz", "meadow", "ember", "cobalt", "vista", "orbit", "saffron", "delta",
        "north", "prism", "willow", "atlas", "coral", "zenith", "basalt", "fjord", "opal", "tundra",
    ];

    public static SKBitmap Draw(int seed, int width, int height)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        DrawBackground(canvas, random, width, height);

        var shapes = random.Next(4, 10);
        for (var i = 0; i < shapes; i++)
        {
            DrawShape(canvas, random, width, height);
        }

        if (random.NextDouble() < 0.5)
        {
            DrawText(canvas, random, width, height);
        }

        canvas.Flush();
        return bitmap;
    }

    internal static SKColor RandomColor(Random random, byte alpha = 255) =>
        new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), alpha);

    private static void DrawBackground(SKCanvas canvas, Random random, int width, int height)
    {
        using var paint = new SKPaint { IsAntialias = true };
        var colors = new[] { RandomColor(random), RandomColor(random), RandomColor(random) };
        var kind = random.Next(4);
        var rect = new SKRect(0, 0, width, height);
        // Noise shaders produce translucent pixels; an opaque base keeps every scene opaque, so PNG and JPEG
        // encodings of one scene show the same picture.
        canvas.Clear(colors[2]);
        switch (kind)
        {
            case 0:
                paint.Shader = SKShader.CreateLinearGradient(
                    new SKPoint((float)random.NextDouble() * width, 0),
                    new SKPoint((float)random.NextDouble() * width, height),
                    colors,
                    SKShaderTileMode.Clamp);
                break;
            case 1:
                paint.Shader = SKShader.CreateRadialGradient(
                    new SKPoint((float)random.NextDouble() * width, (float)random.NextDouble() * height),
                    Math.Max(width, height) * (0.3f + (float)random.NextDouble()),
                    colors,
                    SKShaderTileMode.Mirror);
                break;
            case 2:
                // Perlin noise is costly per pixel: render it at an eighth of the size and let the upscale smooth it.
                using (var noise = new SKBitmap(Math.Max(1, width / 8), Math.Max(1, height / 8)))
                {
                    using (var noiseCanvas = new SKCanvas(noise))
                    using (var noisePaint = new SKPaint())
                    {
                        noisePaint.Shader = SKShader.CreatePerlinNoiseFractalNoise(
                            0.04f + ((float)random.NextDouble() * 0.24f),
                            0.04f + ((float)random.NextDouble() * 0.24f),
                            random.Next(1, 4),
                            random.Next(1000));
                        noiseCanvas.DrawRect(new SKRect(0, 0, noise.Width, noise.Height), noisePaint);
                    }

                    using var noiseImage = SKImage.FromBitmap(noise);
                    canvas.DrawImage(noiseImage, rect, new SKSamplingOptions(SKFilterMode.Linear));
                }

                break;
            default:
                paint.Shader = SKShader.CreateSweepGradient(new SKPoint(width / 2f, height / 2f), colors);
                break;
        }

        if (kind != 2)
        {
            canvas.DrawRect(rect, paint);
        }

        if (kind == 2)
        {
            // Noise alone is grey; tint it so colour layouts differ between scenes.
            using var tint = new SKPaint { Color = colors[0].WithAlpha(140), BlendMode = SKBlendMode.Multiply };
            canvas.DrawRect(rect, tint);
        }

        if (random.NextDouble() < 0.3)
        {
            DrawStripes(canvas, random, width, height);
        }
    }

    private static void DrawStripes(SKCanvas canvas, Random random, int width, int height)
    {
        using var paint = new SKPaint { Color = RandomColor(random, 90), IsAntialias = true, StrokeWidth = 2 + random.Next(12) };
        var spacing = 12 + random.Next(40);
        canvas.Save();
        canvas.RotateDegrees(random.Next(180), width / 2f, height / 2f);
        for (var x = -width; x < 2 * width; x += spacing)
        {
            canvas.DrawLine(x, -height, x, 2 * height, paint);
        }

        canvas.Restore();
    }

    private static void DrawShape(SKCanvas canvas, Random random, int width, int height)
    {
        using var paint = new SKPaint
        {
            IsAntialias = true,
            Color = RandomColor(random, (byte)random.Next(150, 256)),
            Style = random.NextDouble() < 0.75 ? SKPaintStyle.Fill : SKPaintStyle.Stroke,
            StrokeWidth = 3 + random.Next(15),
        };
        var cx = (float)random.NextDouble() * width;
        var cy = (float)random.NextDouble() * height;
        var size = Math.Min(width, height) * (0.08f + ((float)random.NextDouble() * 0.35f));
        switch (random.Next(5))
        {
            case 0:
                canvas.DrawCircle(cx, cy, size / 2, paint);
                break;
            case 1:
                canvas.DrawRect(new SKRect(cx - size, cy - (size / 2), cx + size, cy + (size / 2)), paint);
                break;
            case 2:
                canvas.DrawRoundRect(new SKRect(cx - (size / 2), cy - size, cx + (size / 2), cy + size), size / 5, size / 5, paint);
                break;
            case 3:
                using (var path = Star(cx, cy, size / 2, random.Next(3, 9), random))
                {
                    canvas.DrawPath(path, paint);
                }

                break;
            default:
                paint.Style = SKPaintStyle.Stroke;
                canvas.DrawLine(cx, cy, (float)random.NextDouble() * width, (float)random.NextDouble() * height, paint);
                break;
        }
    }

    private static SKPath Star(float cx, float cy, float radius, int points, Random random)
    {
        var path = new SKPath();
        var inner = radius * (0.35f + ((float)random.NextDouble() * 0.4f));
        var rotation = (float)(random.NextDouble() * Math.PI);
        for (var i = 0; i < points * 2; i++)
        {
            var r = i % 2 == 0 ? radius : inner;
            var angle = rotation + (i * MathF.PI / points);
            var point = new SKPoint(cx + (r * MathF.Cos(angle)), cy + (r * MathF.Sin(angle)));
            if (i == 0)
            {
                path.MoveTo(point);
            }
            else
            {
                path.LineTo(point);
            }
        }

        path.Close();
        return path;
    }

    private static void DrawText(SKCanvas canvas, Random random, int width, int height)
    {
        using var font = new SKFont(SKTypeface.Default, Math.Min(width, height) * (0.06f + ((float)random.NextDouble() * 0.1f)));
        using var paint = new SKPaint { IsAntialias = true, Color = RandomColor(random) };
        var text = $"{Words[random.Next(Words.Length)]} {Words[random.Next(Words.Length)]}";
        canvas.DrawText(text, (float)random.NextDouble() * width * 0.5f, height * (0.2f + ((float)random.NextDouble() * 0.7f)), SKTextAlign.Left, font, paint);
    }
}
