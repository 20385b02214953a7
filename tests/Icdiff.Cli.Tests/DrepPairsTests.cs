using System.Text.Json;
using Parquet.Serialization;
using SkiaSharp;

namespace Icdiff.Cli.Tests;

/// <summary>The published D-Rep parquet (images inside) and the same pairs given as paths evaluate alike.</summary>
public sealed class DrepPairsTests : IDisposable
{
    private static readonly TimeSpan Slow = TimeSpan.FromMinutes(3);
    private readonly string _root = Directory.CreateTempSubdirectory("icdiff-drep-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Eval_DrepParquetWithImageBytes_GivesTheSameFiguresAsTheSamePairsAsPaths()
    {
        var ct = TestContext.Current.CancellationToken;
        var images = Directory.CreateDirectory(Path.Combine(_root, "images")).FullName;
        string Save(string name, SKBitmap bitmap, SKEncodedImageFormat format, int quality = 90)
        {
            using var data = bitmap.Encode(format, quality);
            var path = Path.Combine(images, name);
            File.WriteAllBytes(path, data.ToArray());
            return path;
        }

        var scenes = Enumerable.Range(0, 5).Select(Scene).ToArray();
        var real = scenes.Select((s, i) => Save($"real-{i}.png", s, SKEncodedImageFormat.Png)).ToArray();
        var notAnImage = Path.Combine(images, "broken.png");
        await File.WriteAllTextAsync(notAnImage, "this is not an image", ct);
        (string Name, int Level, string Generated, string Real)[] pairs =
        [
            ("copy", 5, Save("g-copy.jpg", scenes[0], SKEncodedImageFormat.Jpeg, 80), real[0]),
            ("crop", 4, Save("g-crop.png", Crop(scenes[1], 0.9f), SKEncodedImageFormat.Png), real[1]),
            ("inset", 2, Save("g-inset.jpg", Inset(scenes[2]), SKEncodedImageFormat.Jpeg), real[2]),
            ("unrelated", 0, Save("g-unrelated.png", scenes[3], SKEncodedImageFormat.Png), real[4]),
            ("patch", 1, Save("g-patch.jpg", Crop(scenes[4], 0.5f), SKEncodedImageFormat.Jpeg), real[4]),
            ("broken", 3, notAnImage, real[0]),
        ];

        var csv = Path.Combine(_root, "pairs.csv");
        await File.WriteAllLinesAsync(csv, ["name,level,generated,real", .. pairs.Select(p => $"{p.Name},{p.Level},{p.Generated},{p.Real}")], ct);
        // The D-Rep layout, in two row groups, every image's bytes inside and no path beside them.
        var parquet = Path.Combine(_root, "drep", "test.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(parquet)!);
        var rows = pairs.Select(p => new DrepRow
        {
            Name = p.Name,
            Level = p.Level,
            generated_images = new DrepImage { bytes = File.ReadAllBytes(p.Generated) },
            real_images = new DrepImage { bytes = File.ReadAllBytes(p.Real) },
        }).ToArray();
        await ParquetSerializer.SerializeAsync(rows[..3], parquet, cancellationToken: ct);
        await ParquetSerializer.SerializeAsync(rows[3..], parquet, new Parquet.ParquetOptions { Append = true }, cancellationToken: ct);

        var fromPaths = await CliProcess.RunAsync(Slow, "eval", "--pairs", csv, "--out", Path.Combine(_root, "csv.json"));
        var fromBytes = await CliProcess.RunAsync(Slow, "eval", "--pairs", parquet, "--out", Path.Combine(_root, "parquet.json"));

        Assert.True(fromPaths.ExitCode == 0, fromPaths.Stdout + fromPaths.Stderr);
        Assert.True(fromBytes.ExitCode == 0, fromBytes.Stdout + fromBytes.Stderr);
        Assert.Contains("mean abs. deviation (levels/5)", fromBytes.Stdout, StringComparison.Ordinal);
        var expected = await File.ReadAllTextAsync(Path.Combine(_root, "csv.json"), ct);
        var actual = await File.ReadAllTextAsync(Path.Combine(_root, "parquet.json"), ct);
        using var figures = JsonDocument.Parse(actual);
        Assert.Equal(5, figures.RootElement.GetProperty("pairs").GetInt32());
        Assert.Equal(1, figures.RootElement.GetProperty("skipped").GetInt32());
        Assert.True(figures.RootElement.GetProperty("meanAbsoluteDeviation").GetDouble() >= 0);
        // Every figure, the confusion matrix and the skipped pair with its reason: the whole file is the same.
        Assert.Equal(expected, actual);
    }

    private static SKBitmap Scene(int seed)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(320 + (seed * 16), 240);
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { IsAntialias = true };
        paint.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(bitmap.Width, bitmap.Height), [Colour(random), Colour(random)], SKShaderTileMode.Clamp);
        canvas.DrawRect(0, 0, bitmap.Width, bitmap.Height, paint);
        paint.Shader = null;
        for (var i = 0; i < 12; i++)
        {
            paint.Color = Colour(random);
            canvas.DrawCircle(random.Next(bitmap.Width), random.Next(bitmap.Height), 10 + random.Next(50), paint);
        }

        return bitmap;
    }

    private static SKColor Colour(Random random) => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));

    private static SKBitmap Crop(SKBitmap source, float share)
    {
        var w = (int)(source.Width * share);
        var h = (int)(source.Height * share);
        var bitmap = new SKBitmap(w, h);
        source.ExtractSubset(bitmap, SKRectI.Create((source.Width - w) / 2, (source.Height - h) / 2, w, h));
        return bitmap.Copy();
    }

    private static SKBitmap Inset(SKBitmap source)
    {
        var bitmap = new SKBitmap(source.Width, source.Height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, SKRect.Create(source.Width / 4f, source.Height / 4f, source.Width / 2f, source.Height / 2f), new SKSamplingOptions(SKFilterMode.Linear));
        return bitmap;
    }

#pragma warning disable CA1707, IDE1006, SA1300 // the published D-Rep column names, as they are
    public sealed class DrepRow
    {
        public string? Name { get; set; }

        public long Level { get; set; }

        public DrepImage? generated_images { get; set; }

        public DrepImage? real_images { get; set; }
    }

    public sealed class DrepImage
    {
        public byte[]? bytes { get; set; }

        public string? path { get; set; }
    }
#pragma warning restore CA1707, IDE1006, SA1300
}
