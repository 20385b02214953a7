using Icdiff.Core;
using Icdiff.Index.Embedded;

namespace Icdiff.Grains.Index.Sharded;

/// <summary>
/// A worker's view of a sharded gallery snapshot: each query batch goes to every partition at once, the candidates
/// they return (a superset of each one's exact top-k) have their full embeddings read from the token segments, and
/// are re-ranked by their float32 proxies and cut at k, which gives exactly the embedded index's candidates.
/// </summary>
internal sealed class ShardedGalleryIndex(IGrainFactory grains, GallerySnapshot snapshot, int tokens, int embeddingLength, TokenSegmentCache tokensRead, int limitFactor) : IGalleryIndex
{
    public long Count => snapshot.Count;

    public int EmbeddingLength => embeddingLength;

    public async ValueTask<GalleryCandidate[][]> FindCandidatesAsync(ReadOnlyMemory<float> proxies, int queryCount, int k, CancellationToken cancellationToken)
    {
        var files = snapshot.Partitions ?? throw new InvalidOperationException($"sharded gallery snapshot {snapshot.Path} names no partitions.");
        var dim = embeddingLength / tokens;
        var rows = TokenReRanking.QueryRows(proxies, queryCount, dim);
        var limit = (int)Math.Min(int.MaxValue, (long)k * limitFactor);
        var answers = await Task.WhenAll(files.Select((file, i) =>
            grains.GetGrain<IGalleryPartitionGrain>(ShardedGalleryIndexGrain.PartitionKey(snapshot.Path, i, files.Count))
                .SearchAsync(new PartitionSearch(file, rows, k, limit))));

        // Re-ranking reads files and computes dot products: off the caller's thread, as the search stage expects.
        return await Task.Run(
            () => TokenReRanking.Cut(proxies, queryCount, k, tokens, embeddingLength, tokensRead, (q, candidates) =>
            {
                var floor = MergedFloor(answers, q, k);
                foreach (var answer in answers)
                {
                    for (var c = 0; c < answer.Keys[q].Length; c++)
                    {
                        if (answer.Scores[q][c] >= floor)
                        {
                            candidates.Add(new StoredCandidate(answer.Keys[q][c], answer.Stamps[q][c], answer.Folder, answer.Locators[q][c]));
                        }
                    }
                }
            }),
            cancellationToken);
    }
    /// <summary>
    /// Each partition returned a superset of its own top-k; their union holds every partition's, so also the global
    /// top-k, but up to P x k entries. The same rule cuts the union before any token is read: with T the k-th best
    /// float16 cosine in it and e the float16 error bound, k entries have exact cosines of at least T - e, so the
    /// global k-th exact cosine is at least T - e and each of the global top-k has a float16 cosine of at least T - 2e.
    /// Keeping what is at or above T - 2e keeps all of them (and their exact ties): about k reads a query, not P x k.
    /// </summary>
    internal static float MergedFloor(PartitionHits[] answers, int query, int k)
    {
        var total = answers.Sum(a => a.Scores[query].Length);
        if (total <= k)
        {
            return float.NegativeInfinity;
        }

        var scores = new float[total];
        var at = 0;
        foreach (var answer in answers)
        {
            answer.Scores[query].CopyTo(scores, at);
            at += answer.Scores[query].Length;
        }

        // The k-th largest: sort descending by sorting ascending and indexing from the end.
        Array.Sort(scores);
        return scores[total - k] - (2 * HalfProxyPartition.ScoreErrorBound);
    }
}
