using Icdiff.Core;

namespace Icdiff.Grains;

/// <summary>Which gallery index audits search, and how it is laid out. Bound from <see cref="SectionName"/>.</summary>
public sealed class GalleryIndexOptions : ISelfCheckingOptions
{
    public const string SectionName = "Icdiff:Index";

    /// <summary>
    /// <c>embedded</c> (default): one index file, loaded whole by each worker silo. <c>sharded</c>: the gallery's
    /// proxies in float16, partitioned by key over the worker silos, each silo holding only its partitions; full
    /// embeddings stay in token segment files under the data directory, read only for each query batch's candidates.
    /// <c>milvus</c>: the proxies in a Milvus collection per (gallery, model) (<c>Icdiff:Milvus</c>), full embeddings in
    /// token segment files under the shared data directory, as for <c>sharded</c>.
    /// </summary>
    public string Kind { get; set; } = GalleryBackends.Embedded;

    /// <summary>
    /// Partitions of a sharded index. A gallery indexed with another count is a different index (indexed afresh), so
    /// choose it for the largest cluster: a few per worker silo lets a lost silo's share spread over the others.
    /// </summary>
    public int Partitions { get; set; } = 8;

    /// <summary>Memory a worker silo keeps for recently read gallery embeddings (the candidates' full tokens), in MiB.</summary>
    public int TokenCacheMegabytes { get; set; } = 256;

    /// <summary>
    /// Candidates a partition may return per query, as a multiple of the candidates re-scored: the float16 search returns
    /// every entry within its error bound of the k-th best, which is more than k only where near-equal entries crowd
    /// the cut; this caps a pathological gallery (thousands of identical images).
    /// </summary>
    public int CandidateLimitFactor { get; set; } = 16;

    /// <summary>
    /// Candidates Milvus returns per query, as a multiple of those re-scored: its approximate indexes (HNSW, IVF) may
    /// rank an entry near the cut just below it, and the exact float32 re-ranking of the extra candidates puts it back.
    /// </summary>
    public int MilvusOverfetch { get; set; } = 4;

    public bool IsSharded => string.Equals(Kind, GalleryBackends.Sharded, StringComparison.OrdinalIgnoreCase);

    public bool IsMilvus => string.Equals(Kind, GalleryBackends.Milvus, StringComparison.OrdinalIgnoreCase);

    public void Validate() => SettingsProblems.ThrowIfAny(Problems());

    IEnumerable<string> ISelfCheckingOptions.Problems() => Problems();

    /// <summary>Every problem, each naming its key.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!string.Equals(Kind, GalleryBackends.Embedded, StringComparison.OrdinalIgnoreCase) && !IsSharded && !IsMilvus)
        {
            problems.Add($"{SectionName}:Kind must be '{GalleryBackends.Embedded}', '{GalleryBackends.Sharded}' or '{GalleryBackends.Milvus}' (got '{Kind}').");
        }

        if (Partitions is < 1 or > 4096)
        {
            problems.Add($"{SectionName}:Partitions must be 1..4096 (got {Partitions}).");
        }

        if (TokenCacheMegabytes is < 0 or > 1_048_576)
        {
            problems.Add($"{SectionName}:TokenCacheMegabytes must be 0..1048576 (got {TokenCacheMegabytes}).");
        }

        if (CandidateLimitFactor is < 1 or > 1024)
        {
            problems.Add($"{SectionName}:CandidateLimitFactor must be 1..1024 (got {CandidateLimitFactor}).");
        }

        if (MilvusOverfetch is < 1 or > 64)
        {
            problems.Add($"{SectionName}:MilvusOverfetch must be 1..64 (got {MilvusOverfetch}).");
        }

        return problems;
    }
}
