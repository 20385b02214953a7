using Icdiff.Core;

namespace Icdiff.Index.Embedded;

/// <summary>A candidate whose full embedding is in a token segment: key, stamp, segment folder and locator.</summary>
public readonly record struct StoredCandidate(string Key, string Stamp, string Folder, long Locator);

/// <summary>
/// The exact cut of candidates that a backend returned from a coarser search (float16 partitions, Milvus): each
/// candidate's full embedding is read from its token segment, its float32 proxy computed as the embedded index
/// computes it, and the candidates ranked by <see cref="ExactRanking"/> and cut at k, which gives the embedded
/// index's candidates whenever the coarse search returned a superset of them.
/// </summary>
public static class TokenReRanking
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
