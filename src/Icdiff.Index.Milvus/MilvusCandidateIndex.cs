using System.Text.Json.Nodes;
using Icdiff.Core;

namespace Icdiff.Index.Milvus;

/// <summary>
/// The gallery candidate index in a Milvus collection: int64 id (content hash, below 2^53) as primary key, the proxy
/// vector (float or float16), the source URI and the gallery version. The collection is created with an explicit
/// schema and the configured index (HNSW, IVF_FLAT or DISKANN, COSINE), then loaded; searches run at the configured
/// consistency level (Strong by default, so rows written by this run are searched by it).
/// </summary>
public sealed class MilvusCandidateIndex(MilvusRestClient client, MilvusOptions options) : ICandidateIndex
{
    public const string IdField = "id";
    public const string ProxyField = "proxy";
    public const string SourceField = "source";
    public const string VersionField = "gallery_version";
    private const string IndexName = "proxy_index";
    private const int IdsPerRequest = 1000;

    /// <summary>An index with its own pooled HTTP connection (keep-alive; the REST API shares the gRPC port).</summary>
    public static MilvusCandidateIndex Create(MilvusOptions options)
    {
        options.Validate();
        return new MilvusCandidateIndex(MilvusRestClient.Connect(options), options);
    }

    public string Description => $"Milvus collection '{options.Collection}' ({options.IndexType}, {options.VectorType}) at {new Uri(options.Uri!).GetLeftPart(UriPartial.Authority)}";

    public async Task EnsureReadyAsync(int dim, CancellationToken cancellationToken)
    {
        if (!await client.HasCollectionAsync(options.Collection, cancellationToken))
        {
            MilvusField[] fields =
            [
                new(IdField, "Int64", IsPrimary: true),
                new(ProxyField, options.VectorType.ToString(), Dim: dim),
                new(SourceField, "VarChar", MaxLength: options.SourceMaxLength),
                new(VersionField, "VarChar", MaxLength: 64),
            ];
            await client.CreateCollectionAsync(options.Collection, fields, [Index()], cancellationToken);
        }

        await client.WaitForIndexAsync(options.Collection, IndexName, cancellationToken);
        await client.LoadCollectionAsync(options.Collection, cancellationToken);
        await client.WaitForLoadAsync(options.Collection, cancellationToken);
    }

    public async Task<IReadOnlyList<long>> MissingAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        var present = new HashSet<long>();
        foreach (var chunk in ids.Distinct().Chunk(IdsPerRequest))
        {
            var rows = await client.QueryAsync(options.Collection, MilvusRestClient.IdFilter(IdField, chunk), [IdField], chunk.Length, cancellationToken);
            foreach (var row in rows)
            {
                present.Add(MilvusRestClient.ReadId(row.GetProperty(IdField)));
            }
        }

        return [.. ids.Where(id => !present.Contains(id))];
    }

    public async Task UpsertAsync(IReadOnlyList<GalleryVector> vectors, CancellationToken cancellationToken)
    {
        var rows = new List<JsonObject>(vectors.Count);
        foreach (var vector in vectors)
        {
            if (vector.Id is < 0 or >= GalleryIds.Limit)
            {
                throw new ArgumentException($"gallery id {vector.Id} is outside 0..2^53.", nameof(vectors));
            }

            var source = vector.Source.Length > options.SourceMaxLength ? vector.Source[..options.SourceMaxLength] : vector.Source;
            rows.Add(new JsonObject
            {
                [IdField] = vector.Id,
                [ProxyField] = MilvusRestClient.EncodeVector(vector.Proxy, options.VectorType),
                [SourceField] = source,
                [VersionField] = options.GalleryVersion,
            });
        }

        await client.UpsertAsync(options.Collection, rows, cancellationToken);
    }

    public async Task DeleteAsync(IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        foreach (var chunk in ids.Distinct().Chunk(IdsPerRequest))
        {
            await client.DeleteAsync(options.Collection, MilvusRestClient.IdFilter(IdField, chunk), cancellationToken);
        }
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken)
    {
        var rows = await client.QueryAsync(options.Collection, string.Empty, ["count(*)"], 0, cancellationToken);
        return rows.Count == 0 ? 0 : rows[0].GetProperty("count(*)").GetInt64();
    }

    public async Task<IReadOnlyList<IReadOnlyList<VectorHit>>> SearchAsync(IReadOnlyList<float[]> queries, int k, CancellationToken cancellationToken)
    {
        var parameters = new Dictionary<string, string>(options.SearchParams);
        // HNSW needs ef >= k to return k hits.
        if (options.IndexType == "HNSW" && (!parameters.TryGetValue("ef", out var ef) || !int.TryParse(ef, out var efValue) || efValue < k))
        {
            parameters["ef"] = k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var hits = await client.SearchAsync(options.Collection, ProxyField, queries, k, "COSINE", parameters, [SourceField], options.VectorType, null, cancellationToken);
        return [.. hits.Select(list => (IReadOnlyList<VectorHit>)[.. list.Select(h => new VectorHit(h.Id, h.Distance, h.Fields.TryGetValue(SourceField, out var s) ? s.GetString() : null))])];
    }

    private MilvusIndexSpec Index() => new(ProxyField, IndexName, options.IndexType, "COSINE", options.IndexParams);
}
