using Orleans.Concurrency;

namespace Icdiff.Grains;

/// <summary>
/// One partition of a sharded gallery index: the float16 proxies of the gallery images whose key hashes to it, held on
/// a worker silo, with their full embeddings in token segment files beside its snapshots (read by the searching
/// worker, never loaded whole). Keyed "{gallery index key}|{partition}/{partitions}". Passes follow
/// <see cref="IGalleryIndexGrain"/>'s rules; the router opens them with its own pass id.
/// </summary>
public interface IGalleryPartitionGrain : IGrainWithStringKey
{
    Task BeginPassAsync(Guid pass, int tokens, int dim, string fingerprint);

    Task<IReadOnlyList<ImageRef>> FilterNewAsync(Guid pass, IReadOnlyList<ImageRef> items);

    Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings);

    /// <summary>Closes the pass and returns the partition's snapshot file (a new one if anything changed) and its entries.</summary>
    Task<PartitionSnapshot> SealPassAsync(Guid pass);

    /// <summary>
    /// Every entry of <paramref name="search"/>'s snapshot that may be among the exact top-k of each query (float16
    /// cosines within the error bound of the k-th best), for the worker to re-rank exactly. Served beside other calls.
    /// </summary>
    [AlwaysInterleave]
    Task<PartitionHits> SearchAsync(PartitionSearch search);
}

[GenerateSerializer, Immutable]
public sealed record PartitionSnapshot([property: Id(0)] string Path, [property: Id(1)] int Count);

/// <summary>A batch of query proxies, one array per query (small arrays, where one per batch would be a large-object-heap one).</summary>
[GenerateSerializer, Immutable]
public sealed record PartitionSearch(
    [property: Id(0)] string Snapshot,
    [property: Id(1)] float[][] Proxies,
    [property: Id(2)] int K,
    [property: Id(3)] int Limit);

/// <summary>Candidates per query: parallel arrays (key, stamp, float16 cosine, token locator); segments are named in <see cref="Folder"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record PartitionHits(
    [property: Id(0)] string Folder,
    [property: Id(1)] string[][] Keys,
    [property: Id(2)] string[][] Stamps,
    [property: Id(3)] float[][] Scores,
    [property: Id(4)] long[][] Locators);
