using Icdiff.Core;
using Icdiff.Index.Embedded;

namespace Icdiff.Grains;

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

/// <summary>A candidate whose full embedding is in a token segment: key, stamp, segment folder and locator.</summary>
internal readonly record struct StoredCandidate(string Key, string Stamp, string Folder, long Locator);

/// <summary>
/// The exact cut of candidates that a backend returned from a coarser search (float16 partitions, Milvus): each
/// candidate's full embedding is read from its token segment, its float32 proxy computed as the embedded index
/// computes it, and the candidates ranked by <see cref="ExactRanking"/> and cut at k, which gives the embedded
/// index's candidates whenever the coarse search returned a superset of them.
/// </summary>
internal static class TokenReRanking
{
    /// <summary>
    /// A batch's query proxies as one array per query, as the coarse searches are sent them: small arrays die young on
    /// both ends of a call, where the batch's flat array (98 KB at 32 x 768) is a large-object-heap allocation per
    /// batch and per remote partition, freed only by a full collection.
    /// </summary>
    public static float[][] QueryRows(ReadOnlyMemory<float> proxies, int queryCount, int dim)
    {
        var rows = new float[queryCount][];
        for (var q = 0; q < queryCount; q++)
        {
            rows[q] = proxies.Slice(q * dim, dim).ToArray();
        }

        return rows;
    }

    public static GalleryCandidate[][] Cut(ReadOnlyMemory<float> queries, int queryCount, int k, int tokens, int embeddingLength, TokenSegmentCache tokensRead, Action<int, List<StoredCandidate>> candidatesOf)
    {
        var dim = embeddingLength / tokens;
        var results = new GalleryCandidate[queryCount][];
        var candidates = new List<StoredCandidate>();
        var keys = new List<string>();
        var embeddings = new List<ReadOnlyMemory<float>>();
        var rankBy = new List<ReadOnlyMemory<float>>();
        for (var q = 0; q < queryCount; q++)
        {
            candidates.Clear();
            keys.Clear();
            embeddings.Clear();
            rankBy.Clear();
            candidatesOf(q, candidates);
            foreach (var candidate in candidates)
            {
                var embedding = tokensRead.Read(candidate.Folder, candidate.Locator, embeddingLength);
                keys.Add(candidate.Key);
                embeddings.Add(embedding);
                if (tokens == 1)
                {
                    rankBy.Add(embedding);
                }
                else
                {
                    // The proxy the embedded index would hold: the same function of the same float32 tokens.
                    var proxy = new float[dim];
                    EmbeddingMath.Proxy(embedding, tokens, proxy);
                    rankBy.Add(proxy);
                }
            }

            var ranked = ExactRanking.Cut(queries.Span.Slice(q * dim, dim), keys, rankBy, k);
            results[q] = [.. ranked.Select(r => new GalleryCandidate(keys[r.Position], candidates[r.Position].Stamp, r.Score, embeddings[r.Position]))];
        }

        return results;
    }
}
