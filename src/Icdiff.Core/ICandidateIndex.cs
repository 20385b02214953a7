namespace Icdiff.Core;

/// <summary>A gallery entry of a candidate index: id (below 2^53), where the image came from, and its normalised proxy vector.</summary>
public sealed record GalleryVector(long Id, string Source, float[] Proxy);

/// <summary>A candidate from a candidate index: the gallery id, its proxy cosine and, when the index keeps it, its source.</summary>
public readonly record struct VectorHit(long Id, float Score, string? Source = null);

/// <summary>
/// The first stage of retrieval at scale: a vector index over gallery proxies (embedded in-process, or Milvus) that
/// returns candidates for exact re-scoring. Every implementation passes the same contract test suite.
/// </summary>
public interface ICandidateIndex
{
    /// <summary>What this index is, for logs and reports (never a secret).</summary>
    string Description { get; }

    /// <summary>Creates the collection for <paramref name="dim"/>-float proxies if it does not exist and makes it searchable.</summary>
    Task EnsureReadyAsync(int dim, CancellationToken cancellationToken);

    /// <summary>The ids among <paramref name="ids"/> that the index does not hold: an incremental build inserts only these.</summary>
    Task<IReadOnlyList<long>> MissingAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces entries by id; writing an entry twice leaves one.</summary>
    Task UpsertAsync(IReadOnlyList<GalleryVector> vectors, CancellationToken cancellationToken);

    Task DeleteAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken);

    Task<long> CountAsync(CancellationToken cancellationToken);

    /// <summary>Top-<paramref name="k"/> by proxy cosine for each query (rows of <paramref name="queries"/>), best first.</summary>
    Task<IReadOnlyList<IReadOnlyList<VectorHit>>> SearchAsync(IReadOnlyList<float[]> queries, int k, CancellationToken cancellationToken);
}

/// <summary>
/// The full model outputs of gallery images, keyed by id, for exact re-scoring of candidates: the proxy alone
/// cannot tell which of the six PDF tokens wins.
/// </summary>
public interface IEmbeddingStore
{
    Task PutAsync(IReadOnlyList<(long Id, float[] Embedding)> embeddings, CancellationToken cancellationToken);

    /// <summary>Embeddings of the ids found; ids not stored are absent from the result.</summary>
    Task<IReadOnlyDictionary<long, float[]>> GetAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken);
}
