using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Icdiff.Core;
using Icdiff.Embedding.Onnx;
using Icdiff.Imaging.Skia;
using Icdiff.Index.Embedded;
using Icdiff.Synthesis;
using Microsoft.Extensions.Logging.Abstractions;

namespace Icdiff.Cli.Commands;

/// <summary>
/// Measures two-stage retrieval against exhaustive exact scoring on a generated corpus: every generated image is
/// scored exactly against every gallery image (the reference best match), then found again by proxy
/// search for the top k followed by exact re-scoring of those k. Recall of the best match is the share of images
/// whose two-stage best equals the exhaustive best, reported for several k, with float32 and float16 proxies
/// (Milvus' Float16Vector), over all generated images and over those whose best match is a replica.
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
        var fixture = new Option<TokenFixture>("--tokens") { Description = "Six-token fixture model: Views (global views, correlated tokens like PDF-Embedding's) or Regions (whole, quadrants, centre).", DefaultValueFactory = _ => TokenFixture.Views };
        var output = new Option<string?>("--out") { Description = "JSON file for the figures (default: recall.json in --work)." };
        var command = new Command("recall", "Recall of the best match: two-stage retrieval (proxy top-k + exact re-scoring) against exhaustive exact scoring.") { work, gallery, generated, ks, seed, fixture, output };
        command.SetAction((parse, ct) => CommandHost.RunAsync(async () =>
        {
            var gallerySize = parse.GetValue(gallery);
            var generatedSize = parse.GetValue(generated);
            if (gallerySize < 10 || generatedSize < 10)
            {
                throw new CliError("--gallery and --generated must be at least 10.");
            }

            var figures = await MeasureAsync(Path.GetFullPath(parse.GetValue(work)!), gallerySize, generatedSize, parse.GetValue(seed), parse.GetValue(ks)!, parse.GetValue(fixture), ct);
            var outPath = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(parse.GetValue(work)!, "recall.json"));
            await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(figures, Indented), ct);
            Console.WriteLine($"Figures written to {outPath}");
            return 0;
        }));
        return command;
    }

    private static async Task<Dictionary<string, object>> MeasureAsync(string work, int gallerySize, int generatedSize, int seed, int[] ks, TokenFixture fixture, CancellationToken cancellationToken)
    {
        var replicas = generatedSize / 10;
        var partial = generatedSize / 20;
        var spec = new DemoCorpusSpec(gallerySize, [new SyntheticModelSpec("recall", [generatedSize - (2 * replicas) - (3 * partial), partial, partial, partial, replicas, replicas])], seed);
        var root = Path.Combine(work, string.Create(CultureInfo.InvariantCulture, $"corpus-{gallerySize}-{generatedSize}-{seed}"));
        var clock = Stopwatch.StartNew();
        var corpus = DemoCorpusBuilder.Build(root, spec, null, cancellationToken);
        Console.WriteLine($"Corpus: {spec.Describe()} ({clock.Elapsed.TotalSeconds:0} s)");

        var manifest = TokenFixtureModel.CreateManifest(fixture, "fixture");
        using var embedder = new OnnxEmbedder(manifest, TokenFixtureModel.BuildOnnx(fixture), new OnnxOptions(), NullLogger.Instance);
        var decoder = new SkiaImageDecoder(new DecoderOptions());
        clock.Restart();
        var galleryEmbeddings = Embed(decoder, embedder, Directory.GetFiles(corpus.GalleryPath).Order(StringComparer.Ordinal).ToArray(), cancellationToken);
        var generatedEmbeddings = Embed(decoder, embedder, Directory.GetFiles(corpus.ModelPaths["recall"]).Order(StringComparer.Ordinal).ToArray(), cancellationToken);
        Console.WriteLine($"Embedded {galleryEmbeddings.Length} gallery and {generatedEmbeddings.Length} generated images with {manifest.Name} ({manifest.OutputTokens} x {manifest.OutputDim}) in {clock.Elapsed.TotalSeconds:0} s");

        var rule = manifest.Scoring;
        clock.Restart();
        var exhaustive = new PairScore[generatedEmbeddings.Length];
        Parallel.For(0, generatedEmbeddings.Length, new ParallelOptions { CancellationToken = cancellationToken }, q =>
        {
            var best = PairScore.Nothing;
            foreach (var candidate in galleryEmbeddings)
            {
                var score = rule.Score(generatedEmbeddings[q], candidate);
                if (score > best)
                {
                    best = score;
                }
            }

            exhaustive[q] = best;
        });
        Console.WriteLine($"Exhaustive exact scoring: {generatedEmbeddings.Length} x {galleryEmbeddings.Length} pairs in {clock.Elapsed.TotalSeconds:0.0} s");
        var replicaQueries = exhaustive.Count(s => s.Level >= ReplicaCriterion.DefaultMinLevel);

        var rows = new List<object>();
        Console.WriteLine($"{replicaQueries} of {generatedEmbeddings.Length} generated images have a replica (best exact level >= {ReplicaCriterion.DefaultMinLevel}); default k = {ReplicaCriterion.DefaultCandidates}");
        Console.WriteLine();
        Console.WriteLine($"{"proxies",-8} {"k",5} {"recall (all)",13} {"recall (replicas)",18} {"replica verdicts agree",23}");
        foreach (var half in new[] { false, true })
        {
            var store = new InMemoryEmbeddingStore();
            var index = new EmbeddedCandidateIndex();
            await index.EnsureReadyAsync(manifest.OutputDim, cancellationToken);
            var vectors = new List<GalleryVector>();
            for (var i = 0; i < galleryEmbeddings.Length; i++)
            {
                var proxy = new float[manifest.OutputDim];
                EmbeddingMath.Proxy(galleryEmbeddings[i], manifest.OutputTokens, proxy);
                if (half)
                {
                    // What Milvus' Float16Vector keeps of a proxy.
                    for (var d = 0; d < proxy.Length; d++)
                    {
                        proxy[d] = (float)(Half)proxy[d];
                    }
                }

                vectors.Add(new GalleryVector(i, i.ToString(CultureInfo.InvariantCulture), proxy));
            }

            await index.UpsertAsync(vectors, cancellationToken);
            await store.PutAsync([.. galleryEmbeddings.Select((e, i) => ((long)i, e))], cancellationToken);
            var retriever = new TwoStageRetriever(index, store, rule, manifest.OutputTokens, manifest.OutputDim);
            foreach (var k in ks.Where(k => k >= 1).Distinct().Order())
            {
                var found = await retriever.FindBestAsync(generatedEmbeddings, k, cancellationToken);
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
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{proxies,-8} {k,5} {recallAll,13:0.0000} {recallReplicas,18:0.0000} {agreement,23:0.0000}"));
                rows.Add(new { proxies, k, recallAll, recallReplicas, replicaVerdictAgreement = agreement, isDefaultK = k == ReplicaCriterion.DefaultCandidates });
            }
        }

        return new Dictionary<string, object>
        {
            ["date"] = DateTimeOffset.UtcNow,
            ["model"] = manifest.Name,
            ["rule"] = rule.Describe(),
            ["gallery"] = galleryEmbeddings.Length,
            ["generated"] = generatedEmbeddings.Length,
            ["replicaQueries"] = replicaQueries,
            ["defaultK"] = ReplicaCriterion.DefaultCandidates,
            ["rows"] = rows,
        };
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
