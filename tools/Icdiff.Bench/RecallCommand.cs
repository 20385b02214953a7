using Icdiff.Embedding.Onnx;
using Icdiff.Imaging.Skia;
using Icdiff.Index.Embedded;
using Icdiff.Synthesis;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Bench;

/// <summary>
/// Measures two-stage retrieval against exhaustive exact scoring on a generated corpus: every generated image is
/// scored exactly against every gallery image (the reference best match), then found again by proxy
/// search for the top k followed by exact re-scoring of those k. Recall of the best match is the share of images
/// whose two-stage best equals the exhaustive best, reported for several k, with float32 and float16 proxies
/// (Milvus' Float16Vector), over all generated images and over those whose best match is a replica. Beside it, for
/// each match rule, how often the proxy top-k holds the exhaustive match at all: the top-1 match (the gallery image
/// with the highest exact proxy cosine) and the best-level match (highest level, then similarity, over the whole
/// gallery). Any model runs it (<c>--model</c>, a manifest or builtin); without one, a six-token fixture model.
/// </summary>
internal static class RecallCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the generated corpus.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "icdiff-recall") };
        var gallery = new Option<int>("--gallery") { Description = "Gallery images.", DefaultValueFactory = _ => 5000 };
        var generated = new Option<int>("--generated") { Description = "Generated images (a fifth of them replicas at level 4-5).", DefaultValueFactory = _ => 1000 };
        var ks = new Option<int[]>("--k") { Description = "Candidate counts to measure.", DefaultValueFactory = _ => [1, 4, 16, ReplicaCriterion.DefaultCandidates, 256], AllowMultipleArgumentsPerToken = true };
        var seed = new Option<int>("--seed") { Description = "Corpus seed.", DefaultValueFactory = _ => 29 };
        var fixture = new Option<TokenFixture>("--tokens") { Description = "Six-token fixture model used without --model: Views (global views, correlated tokens like PDF-Embedding's) or Regions (whole, quadrants, centre).", DefaultValueFactory = _ => TokenFixture.Views };
        var model = new Option<string?>("--model") { Description = "Model manifest, or 'builtin' (default: the --tokens fixture model)." };
        var output = new Option<string?>("--out") { Description = "JSON file for the figures (default: recall.json in --work)." };
        var command = new Command("recall", "Recall of the best match: two-stage retrieval (proxy top-k + exact re-scoring) against exhaustive exact scoring.") { work, gallery, generated, ks, seed, fixture, model, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var gallerySize = parse.GetValue(gallery);
            var generatedSize = parse.GetValue(generated);
            if (gallerySize < 10 || generatedSize < 10)
            {
                throw new CliError("--gallery and --generated must be at least 10.");
            }

            using var embedder = LoadModel(parse.GetValue(model), parse.GetValue(fixture));
            var figures = await MeasureAsync(Path.GetFullPath(parse.GetValue(work)!), gallerySize, generatedSize, parse.GetValue(seed), parse.GetValue(ks)!, embedder, ct);
            var outPath = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(parse.GetValue(work)!, "recall.json"));
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(figures, Indented), ct);
            Console.WriteLine($"Figures written to {outPath}");
            return 0;
        }));
        return command;
    }

    private static OnnxEmbedder LoadModel(string? model, TokenFixture fixture)
    {
        if (model is null)
        {
            return new OnnxEmbedder(TokenFixtureModel.CreateManifest(fixture, "fixture"), TokenFixtureModel.BuildOnnx(fixture), new OnnxOptions(), NullLogger.Instance);
        }

        var manifest = ModelCatalog.ReadManifest(model);
        if (ModelCatalog.IsBuiltin(model))
        {
            return new OnnxEmbedder(manifest, BuiltinDescriptorModel.BuildOnnx(), new OnnxOptions(), NullLogger.Instance);
        }

        if (!File.Exists(manifest.OnnxPath))
        {
            throw new CliError($"model manifest '{model}': onnx file '{manifest.OnnxPath}' does not exist.");
        }

        return new OnnxEmbedder(manifest, File.ReadAllBytes(manifest.OnnxPath), new OnnxOptions(), NullLogger.Instance);
    }

    private static async Task<Dictionary<string, object>> MeasureAsync(string work, int gallerySize, int generatedSize, int seed, int[] ks, OnnxEmbedder embedder, CancellationToken cancellationToken)
    {
        var replicas = generatedSize / 10;
        var partial = generatedSize / 20;
        var spec = new DemoCorpusSpec(gallerySize, [new SyntheticModelSpec("recall", [generatedSize - (2 * replicas) - (3 * partial), partial, partial, partial, replicas, replicas])], seed);
        var root = Path.Combine(work, string.Create(CultureInfo.InvariantCulture, $"corpus-{gallerySize}-{generatedSize}-{seed}"));
        var clock = Stopwatch.StartNew();
        var corpus = DemoCorpusBuilder.Build(root, spec, null, cancellationToken);
        Console.WriteLine($"Corpus: {spec.Describe()} ({clock.Elapsed.TotalSeconds:0} s)");

        var manifest = embedder.Manifest;
        var decoder = new SkiaImageDecoder(new DecoderOptions());
        clock.Restart();
        var galleryEmbeddings = Embed(decoder, embedder, Directory.GetFiles(corpus.GalleryPath).Order(StringComparer.Ordinal).ToArray(), cancellationToken);
        var generatedEmbeddings = Embed(decoder, embedder, Directory.GetFiles(corpus.ModelPaths["recall"]).Order(StringComparer.Ordinal).ToArray(), cancellationToken);
        Console.WriteLine($"Embedded {galleryEmbeddings.Length} gallery and {generatedEmbeddings.Length} generated images with {manifest.Name} ({manifest.OutputTokens} x {manifest.OutputDim}) in {clock.Elapsed.TotalSeconds:0} s");

        var rule = manifest.Scoring;
        clock.Restart();
        var exhaustive = new PairScore[generatedEmbeddings.Length];
        var bestLevelMatch = new int[generatedEmbeddings.Length];
        var top1Match = new int[generatedEmbeddings.Length];
        var galleryProxies = galleryEmbeddings.Select(e => ProxyOf(e, manifest)).ToArray();
        Parallel.For(0, generatedEmbeddings.Length, new ParallelOptions { CancellationToken = cancellationToken }, q =>
        {
            var best = PairScore.Nothing;
            var bestAt = -1;
            var proxy = ProxyOf(generatedEmbeddings[q], manifest);
            var cosines = new float[galleryEmbeddings.Length];
            for (var g = 0; g < galleryEmbeddings.Length; g++)
            {
                var score = rule.Score(generatedEmbeddings[q], galleryEmbeddings[g]);
                if (score > best)
                {
                    best = score;
                    bestAt = g;
                }

                cosines[g] = System.Numerics.Tensors.TensorPrimitives.Dot(proxy, galleryProxies[g]);
            }

            exhaustive[q] = best;
            bestLevelMatch[q] = bestAt;
            top1Match[q] = Top1(cosines);
        });
        Console.WriteLine($"Exhaustive exact scoring: {generatedEmbeddings.Length} x {galleryEmbeddings.Length} pairs in {clock.Elapsed.TotalSeconds:0.0} s");
        var replicaQueries = exhaustive.Count(s => s.Level >= ReplicaCriterion.DefaultMinLevel);

        var rows = new List<object>();
        Console.WriteLine($"{replicaQueries} of {generatedEmbeddings.Length} generated images have a replica (best exact level >= {ReplicaCriterion.DefaultMinLevel}); default k = {ReplicaCriterion.DefaultCandidates}");
        Console.WriteLine();
        Console.WriteLine($"{"proxies",-8} {"k",5} {"recall (all)",13} {"recall (replicas)",18} {"replica verdicts agree",23} {"top-1 held",11} {"best level held",16}");
        foreach (var half in new[] { false, true })
        {
            var store = new InMemoryEmbeddingStore();
            var index = new EmbeddedCandidateIndex();
            await index.EnsureReadyAsync(manifest.OutputDim, cancellationToken);
            var vectors = new List<GalleryVector>();
            for (var i = 0; i < galleryEmbeddings.Length; i++)
            {
                // Zero-padded keys: the ordinal tie order of the top-k cut is then the index order that Top1 breaks ties by.
                vectors.Add(new GalleryVector(i, i.ToString("D8", CultureInfo.InvariantCulture), Stored(galleryProxies[i], half)));
            }

            await index.UpsertAsync(vectors, cancellationToken);
            await store.PutAsync([.. galleryEmbeddings.Select((e, i) => ((long)i, e))], cancellationToken);
            var retriever = new TwoStageRetriever(index, store, rule, manifest.OutputTokens, manifest.OutputDim);
            foreach (var k in ks.Where(k => k >= 1).Distinct().Order())
            {
                var found = await retriever.FindBestAsync(generatedEmbeddings, k, cancellationToken);
                var candidates = await index.SearchAsync([.. generatedEmbeddings.Select(e => Stored(ProxyOf(e, manifest), half))], k, cancellationToken);
                var top1Held = 0;
                var bestLevelHeld = 0;
                for (var q = 0; q < candidates.Count; q++)
                {
                    top1Held += candidates[q].Any(h => h.Id == top1Match[q]) ? 1 : 0;
                    bestLevelHeld += candidates[q].Any(h => h.Id == bestLevelMatch[q]) ? 1 : 0;
                }

                var recallTop1 = top1Held / (double)candidates.Count;
                var recallBestLevel = bestLevelHeld / (double)candidates.Count;
                var same = 0;
                var sameReplica = 0;
                var verdicts = 0;
                for (var q = 0; q < found.Count; q++)
                {
                    var equal = found[q].Score.CompareTo(exhaustive[q]) == 0;
                    same += equal ? 1 : 0;
                    sameReplica += equal && exhaustive[q].Level >= ReplicaCriterion.DefaultMinLevel ? 1 : 0;
                    verdicts += (found[q].Score.Level >= ReplicaCriterion.DefaultMinLevel) == (exhaustive[q].Level >= ReplicaCriterion.DefaultMinLevel) ? 1 : 0;
                }

                var recallAll = same / (double)found.Count;
                var recallReplicas = replicaQueries == 0 ? 1.0 : sameReplica / (double)replicaQueries;
                var agreement = verdicts / (double)found.Count;
                var proxies = half ? "float16" : "float32";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{proxies,-8} {k,5} {recallAll,13:0.0000} {recallReplicas,18:0.0000} {agreement,23:0.0000} {recallTop1,11:0.0000} {recallBestLevel,16:0.0000}"));
                rows.Add(new { proxies, k, recallAll, recallReplicas, replicaVerdictAgreement = agreement, recallTop1, recallBestLevel, isDefaultK = k == ReplicaCriterion.DefaultCandidates });
            }
        }

        return new Dictionary<string, object>
        {
            ["date"] = DateTimeOffset.UtcNow,
            ["model"] = manifest.Name,
            ["tokens"] = manifest.OutputTokens,
            ["rule"] = rule.Describe(),
            ["gallery"] = galleryEmbeddings.Length,
            ["generated"] = generatedEmbeddings.Length,
            ["replicaQueries"] = replicaQueries,
            ["defaultK"] = ReplicaCriterion.DefaultCandidates,
            ["rows"] = rows,
        };
    }

    private static float[] ProxyOf(float[] embedding, ModelManifest manifest)
    {
        var proxy = new float[manifest.OutputDim];
        EmbeddingMath.Proxy(embedding, manifest.OutputTokens, proxy);
        return proxy;
    }

    /// <summary>A proxy as the index keeps it: float32, or what Milvus' Float16Vector keeps of it.</summary>
    private static float[] Stored(float[] proxy, bool half) => half ? [.. proxy.Select(v => (float)(Half)v)] : proxy;

    /// <summary>
    /// The top-1 match: the highest exact proxy cosine, cosines within <see cref="GalleryRanking.ScoreTolerance"/> of it
    /// being one tie, won by the smallest gallery key (gallery files are in ordinal name order, so the smallest index).
    /// </summary>
    private static int Top1(float[] cosines)
    {
        var best = cosines.Length == 0 ? -1 : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(cosines);
        if (best < 0)
        {
            return best;
        }

        for (var g = 0; g < best; g++)
        {
            if (cosines[g] >= cosines[best] - GalleryRanking.ScoreTolerance)
            {
                return g;
            }
        }

        return best;
    }

    private static float[][] Embed(SkiaImageDecoder decoder, OnnxEmbedder embedder, string[] files, CancellationToken cancellationToken)
    {
        var manifest = embedder.Manifest;
        var spec = manifest.Preprocess;
        var length = manifest.OutputTokens * manifest.OutputDim;
        var result = new float[files.Length][];
        const int batch = 64;
        var inputs = new float[batch * spec.TensorLength];
        var outputs = new float[batch * length];
        for (var start = 0; start < files.Length; start += batch)
        {
            var count = Math.Min(batch, files.Length - start);
            Parallel.For(0, count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                var decoded = decoder.Decode(File.ReadAllBytes(files[start + i]), spec, inputs.AsSpan(i * spec.TensorLength, spec.TensorLength));
                if (!decoded.Succeeded)
                {
                    throw new CliError($"{files[start + i]}: {decoded.Detail}");
                }
            });
            embedder.Embed(inputs, count, outputs);
            for (var i = 0; i < count; i++)
            {
                result[start + i] = outputs.AsSpan(i * length, length).ToArray();
            }
        }

        return result;
    }
}
