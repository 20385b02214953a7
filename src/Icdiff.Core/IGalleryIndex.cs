namespace Icdiff.Core;

/// <summary>A gallery entry retrieved for a query: its key and stamp, its exact float32 proxy cosine and its full embedding for re-scoring.</summary>
public readonly record struct GalleryCandidate(string Key, string Stamp, float ProxyScore, ReadOnlyMemory<float> Embedding);

/// <summary>
/// The gallery index an audit searches, whichever backend holds it: in one process (<c>embedded</c>), partitioned over
/// the cluster's silos (<c>sharded</c>), or in Milvus. Every backend returns the same candidates: the exact top-k by
/// float32 proxy cosine, ranked by <see cref="GalleryRanking"/> (equal scores by key, never by insertion order).
/// </summary>
public interface IGalleryIndex
{
    /// <summary>Entries searchable.</summary>
    long Count { get; }

    /// <summary>Floats per full embedding (tokens x dim).</summary>
    int EmbeddingLength { get; }

    /// <summary>
    /// Top-<paramref name="k"/> candidates for each of <paramref name="queryCount"/> proxies (rows of
    /// <paramref name="proxies"/>), best first; fewer when the gallery is smaller.
    /// </summary>
    ValueTask<GalleryCandidate[][]> FindCandidatesAsync(ReadOnlyMemory<float> proxies, int queryCount, int k, CancellationToken cancellationToken);
}
