using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Icdiff.Synthesis;

/// <summary>
/// Writes a synthetic gallery and generated corpora with known replicas. Every image is a pure function of the
/// spec's seed and its index, so the work parallelises across cores and a rebuild is bit-identical. An existing
/// corpus built from the same spec is reused instead of redrawn.
/// </summary>
public static class DemoCorpusBuilder
{
    private const string SpecFile = "demo-spec.txt";

    private static readonly (int Width, int Height)[] GallerySizes = [(512, 512), (640, 480), (480, 640), (800, 600), (1024, 768), (768, 768)];
    private static readonly (int Width, int Height)[] GeneratedSizes = [(512, 512), (512, 512), (768, 512), (512, 768)];

    public static DemoCorpus Build(string root, DemoCorpusSpec spec, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var galleryPath = Path.Combine(root, "gallery");
        var modelPaths = spec.Models.ToDictionary(m => m.Name, m => Path.Combine(root, "generated", m.Name), StringComparer.Ordinal);
        var truth = PlanTruth(spec);
        var corpus = new DemoCorpus(spec, Path.GetFullPath(root), galleryPath, modelPaths, truth);

        var specPath = Path.Combine(root, SpecFile);
        if (File.Exists(specPath) && File.ReadAllText(specPath) == spec.Describe())
        {
            return corpus;
        }

        if (Directory.Exists(root))
        {
            foreach (var stale in new[] { galleryPath, Path.Combine(root, "generated") }.Where(Directory.Exists))
            {
                Directory.Delete(stale, recursive: true);
            }
        }

        Directory.CreateDirectory(galleryPath);
        foreach (var path in modelPaths.Values)
        {
            Directory.CreateDirectory(path);
        }

        var done = 0;
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.For(0, spec.GallerySize, options, i =>
        {
            var (key, seed, width, height, jpeg) = GalleryImage(spec, i);
            using var bitmap = SceneGenerator.Draw(seed, width, height);
            Write(bitmap, Path.Combine(galleryPath, key), jpeg, 88);
            progress?.Report(Interlocked.Increment(ref done));
        });

        Parallel.For(0, truth.Count, options, i =>
        {
            var row = truth[i];
            var random = new Random(StableSeed.Mix(spec.Seed, StableSeed.Of(row.Model), i, 17));
            var (width, height) = GeneratedSizes[random.Next(GeneratedSizes.Length)];
            SKBitmap bitmap;
            if (row.Level == 0)
            {
                bitmap = SceneGenerator.Draw(random.Next(), width, height);
            }
            else
            {
                var sourceIndex = int.Parse(row.SourceKey!.AsSpan(1, 5), CultureInfo.InvariantCulture);
                var (_, seed, gw, gh, _) = GalleryImage(spec, sourceIndex);
                using var source = SceneGenerator.Draw(seed, gw, gh);
                bitmap = ReplicaTransforms.Apply(source, row.Level, random, width, height);
            }

            using (bitmap)
            {
                Write(bitmap, Path.Combine(modelPaths[row.Model], row.Key), row.Key.EndsWith(".jpg", StringComparison.Ordinal), 70 + random.Next(26));
            }

            progress?.Report(Interlocked.Increment(ref done));
        });

        WriteTruth(corpus);
        File.WriteAllText(specPath, spec.Describe());
        return corpus;
    }

    /// <summary>Total images a build of <paramref name="spec"/> writes, for progress displays.</summary>
    public static int ImageCount(DemoCorpusSpec spec) => spec.GallerySize + spec.Models.Sum(m => m.Total);

    private static (string Key, int Seed, int Width, int Height, bool Jpeg) GalleryImage(DemoCorpusSpec spec, int index)
    {
        var random = new Random(StableSeed.Mix(spec.Seed, index, 3));
        var (width, height) = GallerySizes[random.Next(GallerySizes.Length)];
        var jpeg = random.NextDouble() < 0.6;
        return ($"g{index:D5}.{(jpeg ? "jpg" : "png")}", random.Next(), width, height, jpeg);
    }

    private static List<TruthRow> PlanTruth(DemoCorpusSpec spec)
    {
        var rows = new List<TruthRow>();
        foreach (var model in spec.Models)
        {
            var random = new Random(StableSeed.Mix(spec.Seed, StableSeed.Of(model.Name), model.Total, 11));
            var levels = model.LevelCounts.SelectMany((count, level) => Enumerable.Repeat(level, count)).ToArray();
            random.Shuffle(levels);
            for (var i = 0; i < levels.Length; i++)
            {
                var level = levels[i];
                var jpeg = random.NextDouble() < 0.3;
                var key = $"{model.Name}-{i:D5}.{(jpeg ? "jpg" : "png")}";
                var source = level == 0 ? null : GalleryImage(spec, random.Next(spec.GallerySize)).Key;
                rows.Add(new TruthRow(model.Name, key, level, source));
            }
        }

        return rows;
    }

    private static void Write(SKBitmap bitmap, string path, bool jpeg, int quality)
    {
        using var pixels = bitmap.PeekPixels() ?? throw new InvalidOperationException("bitmap has no pixels");
        // zlib level 2: Skia's default PNG effort costs ten times more for files a few percent smaller.
        using var data = jpeg
            ? pixels.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore))
            : pixels.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 2));
        if (data is null)
        {
            throw new InvalidOperationException($"SkiaSharp could not encode '{path}'.");
        }

        using var file = File.Create(path);
        data.SaveTo(file);
    }

    private static void WriteTruth(DemoCorpus corpus)
    {
        var truth = new StringBuilder("model,image,level,source\n");
        // D-Rep layout (name, level, generated image, real image); level-0 rows pair a fresh image with a random gallery image.
        var pairs = new StringBuilder("name,level,generated,real\n");
        var random = new Random(corpus.Spec.Seed);
        foreach (var row in corpus.Truth)
        {
            truth.Append(CultureInfo.InvariantCulture, $"{row.Model},{row.Key},{row.Level},{row.SourceKey}\n");
            var real = row.SourceKey ?? GalleryImage(corpus.Spec, random.Next(corpus.Spec.GallerySize)).Key;
            pairs.Append(CultureInfo.InvariantCulture, $"{row.Model}/{row.Key},{row.Level},generated/{row.Model}/{row.Key},gallery/{real}\n");
        }

        File.WriteAllText(Path.Combine(corpus.Root, DemoCorpus.TruthFile), truth.ToString());
        File.WriteAllText(Path.Combine(corpus.Root, DemoCorpus.PairsFile), pairs.ToString());
    }
}
