using Icdiff.Corpora.FileSystem;
using Icdiff.Embedding.Onnx;
using Icdiff.Index.Embedded;
using Icdiff.Pipeline;
using Icdiff.Synthesis;

namespace Icdiff.Bench;

/// <summary>
/// Re-derives the built-in model's thresholds: a synthetic corpus (seed 7 by default, disjoint from the demo)
/// is embedded; replicas give (cosine with their source, intended level) pairs, fresh images give (top-1 cosine
/// over the gallery, 0); the thresholds are the exact monotone fit. Prints the figures to paste into the code.
/// </summary>
internal static class CalibrateBuiltinCommand
{
    public static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "Seed of the synthetic calibration corpus.", DefaultValueFactory = _ => 7 };
        var work = new Option<string>("--work") { Description = "Folder for the calibration corpus.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "icdiff-calibration") };
        var command = new Command("calibrate-builtin", "Fit the built-in model's thresholds on synthetic pairs (maintainers).") { seed, work };
        command.Hidden = true;
        command.SetAction(async (parse, ct) =>
        {
            await using var services = CliServices.CreateWorkerServices();
            var spec = new DemoCorpusSpec(
                600,
                [new SyntheticModelSpec("calibration", [300, 100, 100, 100, 100, 100])],
                parse.GetValue(seed));
            var corpus = DemoCorpusBuilder.Build(parse.GetValue(work)!, spec, null, ct);
            var pairs = await MeasurePairsAsync(services, corpus, BuiltinDescriptorModel.ManifestPathAlias, ct);
            var thresholds = ThresholdCalibrator.Fit(pairs);
            for (var level = 0; level <= 5; level++)
            {
                var cos = pairs.Where(p => p.Level == level).Select(p => p.Cosine).Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"level {level}: n={cos.Length} min={cos[0]:0.000} p10={cos[cos.Length / 10]:0.000} median={cos[cos.Length / 2]:0.000} p90={cos[cos.Length * 9 / 10]:0.000} max={cos[^1]:0.000}"));
            }

            Console.WriteLine("thresholds: " + string.Join(", ", thresholds.Select(t => t.ToString("0.0000", CultureInfo.InvariantCulture))));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"agreement: {ThresholdCalibrator.Agreements(pairs, thresholds)}/{pairs.Count}"));
            var fitted = new CosineThresholdsRule(thresholds);
            var positives = pairs.Where(p => p.Level >= ReplicaCriterion.DefaultMinLevel).ToArray();
            var negatives = pairs.Where(p => p.Level < ReplicaCriterion.DefaultMinLevel).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replica decision at level >= {ReplicaCriterion.DefaultMinLevel}: {positives.Count(p => fitted.LevelOf(p.Cosine) >= ReplicaCriterion.DefaultMinLevel)}/{positives.Length} replicas found, {negatives.Count(p => fitted.LevelOf(p.Cosine) < ReplicaCriterion.DefaultMinLevel)}/{negatives.Length} non-replicas rejected"));
            var current = BuiltinDescriptorModel.Thresholds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"agreement of the committed thresholds: {ThresholdCalibrator.Agreements(pairs, current)}/{pairs.Count}"));
            return 0;
        });
        return command;
    }

    /// <summary>(cosine, intended level) for every generated image of a synthetic corpus.</summary>
    public static async Task<List<(float Cosine, int Level)>> MeasurePairsAsync(IServiceProvider services, DemoCorpus corpus, string model, CancellationToken ct)
    {
        var pipeline = services.GetRequiredService<ImagePipeline>();
        var embedder = services.GetRequiredService<ModelCatalog>().Get(model);
        var galleryIndex = new EmbeddedVectorIndex(1, embedder.Manifest.OutputDim);
        var gallery = new LocalFolderCorpus(corpus.GalleryPath);
        var galleryItems = new List<CorpusItem>();
        await foreach (var item in gallery.ListAsync(ct))
        {
            galleryItems.Add(item);
        }

        foreach (var outcome in await pipeline.ProcessAsync(new PipelineBatch(gallery, galleryItems, embedder, null), ct))
        {
            if (outcome.Embedding is { } e)
            {
                galleryIndex.Add(outcome.Item.Key, outcome.Item.Stamp, e);
            }
        }

        var ordinals = Enumerable.Range(0, galleryIndex.Count).ToDictionary(galleryIndex.KeyOf, i => i, StringComparer.Ordinal);
        var pairs = new List<(float, int)>();
        foreach (var (name, path) in corpus.ModelPaths)
        {
            var source = new LocalFolderCorpus(path);
            var truth = corpus.Truth.Where(t => t.Model == name).ToDictionary(t => t.Key, StringComparer.Ordinal);
            var items = new List<CorpusItem>();
            await foreach (var item in source.ListAsync(ct))
            {
                items.Add(item);
            }

            var embedded = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), ct);
            var best = new IndexCandidate[1];
            var found = new int[1];
            for (var i = 0; i < items.Count; i++)
            {
                var row = truth[items[i].Key];
                var embedding = embedded[i].Embedding!;
                if (row.Level == 0)
                {
                    // A fresh image's score is its best match anywhere in the gallery, as the audit would see it.
                    galleryIndex.Search(embedding, 1, 1, best, found);
                    pairs.Add((best[0].ProxyScore, 0));
                }
                else
                {
                    pairs.Add((System.Numerics.Tensors.TensorPrimitives.Dot(embedding, galleryIndex.EmbeddingOf(ordinals[row.SourceKey!])), row.Level));
                }
            }
        }

        return pairs;
    }
}
