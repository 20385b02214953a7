using Icdiff.Core;
using Icdiff.Corpora.FileSystem;
using Icdiff.Pipeline;

namespace Icdiff.Evaluation;

/// <summary>A labelled pair with the model's verdict, or the reason it could not be scored.</summary>
public sealed record ScoredPair(LabelledPair Pair, PairScore? Score, string? SkipReason);

/// <summary>
/// Scores labelled pairs with a model: every distinct image is embedded once through the worker pipeline
/// (so evaluation sees exactly the production pre-processing), then each pair is scored by the model's rule.
/// </summary>
public static class PairScorer
{
    private const int ChunkSize = 256;

    public static async Task<IReadOnlyList<ScoredPair>> ScoreAsync(IReadOnlyList<LabelledPair> pairs, IEmbedder embedder, ImagePipeline pipeline, CancellationToken cancellationToken)
    {
        var source = new LocalFolderCorpus(Path.GetPathRoot(Path.GetFullPath("."))!);
        var paths = pairs.SelectMany(p => new[] { p.Generated, p.Real }).Distinct(StringComparer.Ordinal).ToArray();
        var embeddings = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var chunk in paths.Chunk(ChunkSize))
        {
            var items = chunk.Select(p => new CorpusItem(p, p, 0, string.Empty)).ToArray();
            foreach (var outcome in await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), cancellationToken))
            {
                if (outcome.Skipped)
                {
                    failures[outcome.Item.Uri] = $"{outcome.Skip}: {outcome.Detail}";
                }
                else
                {
                    embeddings[outcome.Item.Uri] = outcome.Embedding!;
                }
            }
        }

        var rule = embedder.Manifest.Scoring;
        return [.. pairs.Select(pair =>
        {
            if (failures.TryGetValue(pair.Generated, out var generatedFailure))
            {
                return new ScoredPair(pair, null, $"generated image {generatedFailure}");
            }

            if (failures.TryGetValue(pair.Real, out var realFailure))
            {
                return new ScoredPair(pair, null, $"real image {realFailure}");
            }

            return new ScoredPair(pair, rule.Score(embeddings[pair.Generated], embeddings[pair.Real]), null);
        })];
    }

    public static LevelAgreement Agreement(IEnumerable<ScoredPair> scored, Func<ScoredPair, int>? predict = null)
    {
        predict ??= s => s.Score!.Value.Level;
        return LevelAgreement.Compute([.. scored.Where(s => s.Score is not null).Select(s => (s.Pair.Level, predict(s)))]);
    }
}
