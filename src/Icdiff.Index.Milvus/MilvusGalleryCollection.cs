using System.Globalization;
using Icdiff.Core;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Icdiff.Index.Milvus;

/// <summary>A gallery entry as an audit's Milvus collection holds it: key, stamp, proxy and where its full tokens are.</summary>
public sealed record MilvusGalleryRow(string Key, string Stamp, float[] Proxy, long Locator);

/// <summary>A candidate Milvus returned for a query: the entry's key, stamp, token locator and Milvus' cosine.</summary>
public readonly record struct MilvusGalleryHit(string Key, string Stamp, long Locator, float Score);

/// <summary>
/// The Milvus collection an audit searches for one gallery index (one gallery under one model): one row per gallery
/// key (the primary key is a 53-bit hash of it, so re-indexing a changed image replaces its row), its proxy, its
/// stamp and the locator of its full tokens in the side store the silos share. Unlike <see cref="MilvusCandidateIndex"/>
/// (content-keyed rows for <c>bench recall</c>), rows here follow the audit's keys, so an audit needs nothing but
/// Milvus and the token files to re-score a candidate exactly.
/// </summary>
public sealed class MilvusGalleryCollection(MilvusRestClient client, MilvusOptions options, string indexKey)
{
    public const string IdField = "id";
    public const string ProxyField = "proxy";
    public const string KeyField = "gallery_key";
    public const string StampField = "stamp";
    public const string LocatorField = "locator";
    private const string IndexName = "proxy_index";
    private const int IdsPerRequest = 1000;
    private const int KeyMaxLength = 4096;
    private const int StampMaxLength = 512;

    /// <summary>The configured collection name and a hash of the index key: one collection per (gallery, model).</summary>
    public string Name { get; } = CollectionName(options.Collection, indexKey);

    public string Description => $"Milvus collection '{Name}' ({options.IndexType}, {options.VectorType})";

    public static string CollectionName(string prefix, string indexKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(indexKey));
        return $"{prefix}_{Convert.ToHexStringLower(hash.AsSpan(0, 8))}";
    }

    /// <summary>The primary key of a gallery key: the first 53 bits of its SHA-256 (exact in every JSON client).</summary>
    public static long IdOf(string key) => GalleryIds.FromContent(Encoding.UTF8.GetBytes(key));

    public async Task EnsureReadyAsync(int dim, CancellationToken cancellationToken)
    {
        if (!await client.HasCollectionAsync(Name, cancellationToken))
        {
            MilvusField[] fields =
            [
                new(IdField, "Int64", IsPrimary: true),
                new(ProxyField, options.VectorType.ToString(), Dim: dim),
                new(KeyField, "VarChar", MaxLength: KeyMaxLength),
                new(StampField, "VarChar", MaxLength: StampMaxLength),
                new(LocatorField, "Int64"),
            ];
            await client.CreateCollectionAsync(Name, fields, [new MilvusIndexSpec(ProxyField, IndexName, options.IndexType, "COSINE", options.IndexParams)], cancellationToken);
        }

        await client.WaitForIndexAsync(Name, IndexName, cancellationToken);
        await client.LoadCollectionAsync(Name, cancellationToken);
        await client.WaitForLoadAsync(Name, cancellationToken);
    }

    public async Task UpsertAsync(IReadOnlyList<MilvusGalleryRow> rows, CancellationToken cancellationToken)
    {
        var encoded = new List<JsonObject>(rows.Count);
        foreach (var row in rows)
        {
            if (row.Key.Length > KeyMaxLength || row.Stamp.Length > StampMaxLength)
            {
                throw new ArgumentException($"gallery key '{row.Key[..Math.Min(row.Key.Length, 80)]}' or its stamp is longer than the collection holds ({KeyMaxLength}/{StampMaxLength} characters).", nameof(rows));
            }

            encoded.Add(new JsonObject
            {
                [IdField] = IdOf(row.Key),
                [ProxyField] = MilvusRestClient.EncodeVector(row.Proxy, options.VectorType),
                [KeyField] = row.Key,
                [StampField] = row.Stamp,
                [LocatorField] = row.Locator,
            });
        }

        await client.UpsertAsync(Name, encoded, cancellationToken);
    }

    public async Task DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        foreach (var chunk in keys.Select(IdOf).Distinct().Chunk(IdsPerRequest))
        {
            await client.DeleteAsync(Name, MilvusRestClient.IdFilter(IdField, chunk), cancellationToken);
        }
    }

    /// <summary>Makes every row written so far durable and searchable before the snapshot that counts them is published.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => client.FlushAsync(Name, cancellationToken);

    /// <summary>Up to <paramref name="limit"/> candidates per query (rows of <paramref name="queries"/>), best first.</summary>
    public async Task<MilvusGalleryHit[][]> SearchAsync(IReadOnlyList<float[]> queries, int limit, CancellationToken cancellationToken)
    {
        var parameters = new Dictionary<string, string>(options.SearchParams);
        // HNSW needs ef >= limit to return limit hits.
        if (options.IndexType == "HNSW" && (!parameters.TryGetValue("ef", out var ef) || !int.TryParse(ef, NumberStyles.Integer, CultureInfo.InvariantCulture, out var efValue) || efValue < limit))
        {
            parameters["ef"] = limit.ToString(CultureInfo.InvariantCulture);
        }

        var hits = await client.SearchAsync(Name, ProxyField, queries, limit, "COSINE", parameters, [KeyField, StampField, LocatorField], options.VectorType, null, cancellationToken);
        return [.. hits.Select(list => list.Select(Hit).ToArray())];
    }

    private static MilvusGalleryHit Hit(MilvusHit hit) => new(
        Field(hit, KeyField).GetString() ?? string.Empty,
        Field(hit, StampField).GetString() ?? string.Empty,
        MilvusRestClient.ReadId(Field(hit, LocatorField)),
        hit.Distance);

    private static JsonElement Field(MilvusHit hit, string name) =>
        hit.Fields.TryGetValue(name, out var value) ? value : throw new MilvusException("entities/search", 1805, $"a search hit has no '{name}' field");
}
