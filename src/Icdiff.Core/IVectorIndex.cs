namespace Icdiff.Core;

/// <summary>
/// A gallery index of one model: proxy vectors for retrieval plus the full embeddings for exact re-scoring.
/// Implemented in-process (exact SIMD search) and, at scale, by Milvus.
/// </summary>
public interface IVectorIndex
{
    int Count { get; }

    int EmbeddingLength { get; }

    string KeyOf(int ordinal);

    /// <summary>The change stamp the image had when it was indexed, so a match can say which content it matched.</summary>
    string StampOf(int ordinal);

    ReadOnlySpan<float> EmbeddingOf(int ordinal);

    /// <summary>
    /// Top-<paramref name="k"/> candidates by proxy cosine for each of <paramref name="queryCount"/> proxies,
    /// best first, written to <paramref name="results"/> (queryCount x k; fewer when the gallery is smaller). Equal
    /// scores are ranked by key (<see cref="GalleryRanking.Compare"/>), never by insertion order.
    /// </summary>
    void Search(ReadOnlySpan<float> proxies, int queryCount, int k, Span<IndexCandidate> results, Span<int> found);
}
