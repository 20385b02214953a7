using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Icdiff.Core;
using Icdiff.Pipeline;

namespace Icdiff.Evaluation;

/// <summary>A labelled pair (without its image bytes) with the model's verdict, or the reason it could not be scored.</summary>
public sealed record ScoredPair(LabelledPair Pair, PairScore? Score, string? SkipReason);

/// <summary>
/// Scores labelled pairs with a model: images go through the worker pipeline (so evaluation sees exactly the
/// production pre-processing), then each pair is scored by the model's rule. Pairs are taken a chunk at a time
/// from a stream: images the pairs file carries are held only while their chunk is scored, and an image given by
/// path is embedded once however many pairs name it.
/// </summary>
public static class PairScorer
{
    /// <summary>Pairs per chunk: up to twice as many images in memory (a D-Rep image is a few hundred KB encoded).</summary>
    private const int ChunkPairs = 64;

    public static Task<IReadOnlyList<ScoredPair>> ScoreAsync(IReadOnlyList<LabelledPair> pairs, IEmbedder embedder, ImagePipeline pipeline, CancellationToken cancellationToken) =>
        ScoreAsync(Stream(pairs, cancellationToken), embedder, pipeline, cancellationToken);

    public static async Task<IReadOnlyList<ScoredPair>> ScoreAsync(IAsyncEnumerable<LabelledPair> pairs, IEmbedder embedder, ImagePipeline pipeline, CancellationToken cancellationToken)
    {
        var source = new PairImageSource();
        var byPath = new Dictionary<string, Outcome>(StringComparer.Ordinal);
        var results = new List<ScoredPair>();
        var chunk = new List<LabelledPair>(ChunkPairs);
        await foreach (var pair in pairs.WithCancellation(cancellationToken))
        {
            chunk.Add(pair);
            if (chunk.Count == ChunkPairs)
            {
                await ScoreChunkAsync(chunk, source, byPath, embedder, pipeline, results, cancellationToken);
                chunk.Clear();
            }
        }

        if (chunk.Count > 0)
        {
            await ScoreChunkAsync(chunk, source, byPath, embedder, pipeline, results, cancellationToken);
        }

        return results;
    }

    public static LevelAgreement Agreement(IEnumerable<ScoredPair> scored, Func<ScoredPair, int>? predict = null)
    {
        predict ??= s => s.Score!.Value.Level;
        return LevelAgreement.Compute([.. scored.Where(s => s.Score is not null).Select(s => (s.Pair.Level, predict(s)))]);
    }

    private static async Task ScoreChunkAsync(List<LabelledPair> chunk, PairImageSource source, Dictionary<string, Outcome> byPath, IEmbedder embedder, ImagePipeline pipeline, List<ScoredPair> results, CancellationToken cancellationToken)
    {
        // Carried images are keyed by content: a real image repeated in the chunk is embedded once.
        var keys = new (string Generated, string Real)[chunk.Count];
        var wanted = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string KeyOf(string reference, byte[]? bytes)
        {
            var key = bytes is null ? reference : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (bytes is not null)
            {
                source.Add(key, bytes);
            }

            if ((bytes is not null || !byPath.ContainsKey(key)) && seen.Add(key))
            {
                wanted.Add(key);
            }

            return key;
        }

        for (var i = 0; i < chunk.Count; i++)
        {
            keys[i] = (KeyOf(chunk[i].Generated, chunk[i].GeneratedBytes), KeyOf(chunk[i].Real, chunk[i].RealBytes));
        }

        var outcomes = new Dictionary<string, Outcome>(StringComparer.Ordinal);
        try
        {
            var items = wanted.Select(k => new CorpusItem(k, k, 0, string.Empty)).ToArray();
            foreach (var outcome in await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), cancellationToken))
            {
                var result = outcome.Skipped ? new Outcome(null, $"{outcome.Skip}: {outcome.Detail}") : new Outcome(outcome.Embedding, null);
                outcomes[outcome.Item.Uri] = result;
                if (!outcome.Item.Uri.StartsWith("sha256:", StringComparison.Ordinal))
                {
                    byPath[outcome.Item.Uri] = result;
                }
            }
        }
        finally
        {
            source.Clear();
        }

        Outcome Find(string key) => outcomes.TryGetValue(key, out var o) ? o : byPath[key];
        var rule = embedder.Manifest.Scoring;
        for (var i = 0; i < chunk.Count; i++)
        {
            var pair = chunk[i].WithoutBytes();
            var generated = Find(keys[i].Generated);
            var real = Find(keys[i].Real);
            results.Add(
                generated.Failure is { } generatedFailure ? new ScoredPair(pair, null, $"generated image {generatedFailure}")
                : real.Failure is { } realFailure ? new ScoredPair(pair, null, $"real image {realFailure}")
                : new ScoredPair(pair, rule.Score(generated.Embedding!, real.Embedding!), null));
        }
    }

    private static async IAsyncEnumerable<LabelledPair> Stream(IReadOnlyList<LabelledPair> pairs, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var pair in pairs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return pair;
        }

        await Task.CompletedTask;
    }

    private sealed record Outcome(float[]? Embedding, string? Failure);
}
