using System.Globalization;
using System.Runtime.InteropServices;

namespace Icdiff.Core;

/// <summary>The best gallery match of one generated image after exact re-scoring, with how many candidates were scored.</summary>
public readonly record struct RetrievedMatch(long GalleryId, PairScore Score, int CandidatesScored, string? Source = null)
{
    public static RetrievedMatch None => new(-1, PairScore.Nothing, 0);
}

/// <summary>
/// Retrieval for multi-vector models at scale: the candidate index returns the top-k gallery entries by proxy
/// cosine, then every candidate is re-scored exactly with the scoring rule on the full embeddings (all tokens).
/// The result equals exhaustive exact scoring whenever the exact best match is among the k proxy candidates;
/// how often that holds is measured (recall of the best match), not assumed. Candidates the rule cannot tell apart go
/// to the smallest source key (<see cref="GalleryRanking.PickBest"/>), so copies of one image always give the same match.
/// </summary>
public sealed class TwoStageRetriever(ICandidateIndex index, IEmbeddingStore embeddings, ScoringRule rule, int tokens, int dim)
{
    public async Task<IReadOnlyList<RetrievedMatch>> FindBestAsync(IReadOnlyList<float[]> generated, int k, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var proxies = new float[generated.Count][];
        for (var i = 0; i < generated.Count; i++)
        {
            if (generated[i].Length != tokens * dim)
            {
                throw new ArgumentException($"generated embedding {i} has {generated[i].Length} floats; the model gives {tokens} x {dim}.", nameof(generated));
            }

            proxies[i] = new float[dim];
            EmbeddingMath.Proxy(generated[i], tokens, proxies[i]);
        }

        var hits = await index.SearchAsync(proxies, k, cancellationToken);
        var wanted = hits.SelectMany(h => h).Select(h => h.Id).ToHashSet();
        var full = await embeddings.GetAsync(wanted, cancellationToken);
        var results = new RetrievedMatch[generated.Count];
        var scores = new List<PairScore>(k);
        var keys = new List<string>(k);
        var scoredHits = new List<VectorHit>(k);
        for (var i = 0; i < generated.Count; i++)
        {
            scores.Clear();
            keys.Clear();
            scoredHits.Clear();
            foreach (var hit in hits[i])
            {
                if (!full.TryGetValue(hit.Id, out var candidate))
                {
                    // In the index but not in the side store: an interrupted build; the candidate cannot be scored.
                    continue;
                }

                scores.Add(rule.Score(generated[i], candidate));
                // The source is the gallery key a report shows; an index that keeps none is tied by its ids, zero-padded
                // so that ordinal order is numeric order.
                keys.Add(hit.Source ?? hit.Id.ToString("D16", CultureInfo.InvariantCulture));
                scoredHits.Add(hit);
            }

            var best = GalleryRanking.PickBest(rule, CollectionsMarshal.AsSpan(scores), CollectionsMarshal.AsSpan(keys));
            results[i] = best < 0
                ? RetrievedMatch.None
                : new RetrievedMatch(scoredHits[best].Id, scores[best], scores.Count, scoredHits[best].Source);
        }

        return results;
    }
}
