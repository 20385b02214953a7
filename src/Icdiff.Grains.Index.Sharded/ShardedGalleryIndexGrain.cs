using System.Text;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Sharded;

/// <summary>
/// The sharded backend's face to a run: the same passes as the embedded index, routed by key to
/// <see cref="GalleryIndexOptions.Partitions"/> partition grains. It holds no vectors and no keys; its only state is the
/// partition count, which is part of every partition's key (a gallery indexed with another count is indexed afresh).
/// </summary>
[HostedOn(SiloRoles.Coordinator)]
internal sealed class ShardedGalleryIndexGrain(IOptions<GalleryIndexOptions> options) : Grain, IGalleryIndexGrain
{
    private string _fingerprint = string.Empty;

    private int PartitionCount => options.Value.Partitions;

    /// <summary>The partition of a gallery key: a hash every silo and every run computes alike (unlike string.GetHashCode).</summary>
    internal static int PartitionOf(string key, int partitions) => (int)(StableHash(key) % (ulong)partitions);

    /// <summary>FNV-1a over the key's UTF-8 bytes.</summary>
    internal static ulong StableHash(string key)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    internal static string PartitionKey(string indexKey, int partition, int partitions) => $"{indexKey}|{partition}/{partitions}";

    public async Task<Guid> BeginPassAsync(int tokens, int dim, string fingerprint)
    {
        _fingerprint = fingerprint;
        var pass = Guid.NewGuid();
        await Task.WhenAll(Partitions().Select(p => p.BeginPassAsync(pass, tokens, dim, fingerprint)));
        return pass;
    }

    public async Task<IReadOnlyList<ImageRef>> FilterNewAsync(Guid pass, IReadOnlyList<ImageRef> items)
    {
        var groups = items.GroupBy(i => PartitionOf(i.Key, PartitionCount)).ToList();
        var fresh = await Task.WhenAll(groups.Select(g => Partition(g.Key).FilterNewAsync(pass, [.. g])));
        return [.. fresh.SelectMany(f => f)];
    }

    public Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings) =>
        Task.WhenAll(embeddings.GroupBy(e => PartitionOf(e.Image.Key, PartitionCount)).Select(g => Partition(g.Key).AddAsync([.. g])));

    public async Task<GallerySnapshot> SealPassAsync(Guid pass)
    {
        var sealedParts = await Task.WhenAll(Partitions().Select(p => p.SealPassAsync(pass)));
        return new GallerySnapshot(
            this.GetPrimaryKeyString(),
            sealedParts.Sum(p => p.Count),
            _fingerprint,
            GalleryBackends.Sharded,
            [.. sealedParts.Select(p => p.Path)]);
    }

    private IEnumerable<IGalleryPartitionGrain> Partitions() => Enumerable.Range(0, PartitionCount).Select(Partition);

    private IGalleryPartitionGrain Partition(int partition) =>
        GrainFactory.GetGrain<IGalleryPartitionGrain>(PartitionKey(this.GetPrimaryKeyString(), partition, PartitionCount));
}
