using System.Collections.Concurrent;
using Icdiff.Core;
using Icdiff.Index.Embedded;
using Icdiff.Index.Milvus;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// A silo's access to sealed gallery snapshots. Embedded: the index file loaded whole; a snapshot file never changes
/// once written (new passes write new files), so caching by path is safe, and only the two most recent are kept in
/// memory. Sharded: a view that asks the partition grains and reads candidates' tokens through one bounded cache;
/// Milvus: a view that searches the collection and reads candidates' tokens through the same cache.
/// </summary>
public sealed class GalleryIndexCache(IGrainFactory grains, IOptions<GalleryIndexOptions> options, IOptions<MilvusOptions> milvus, MilvusConnection milvusConnection) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<EmbeddedVectorIndex>> _loaded = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly TokenSegmentCache _tokens = new((long)options.Value.TokenCacheMegabytes << 20);

    public IGalleryIndex Get(GallerySnapshot snapshot, ModelManifest model)
    {
        if (snapshot.Backend == GalleryBackends.Sharded)
        {
            return new ShardedGalleryIndex(grains, snapshot, model.OutputTokens, model.EmbeddingLength, _tokens, options.Value.CandidateLimitFactor);
        }

        if (snapshot.Backend == GalleryBackends.Milvus)
        {
            var collection = new MilvusGalleryCollection(milvusConnection.Client, milvus.Value, snapshot.Path);
            return new MilvusGalleryIndex(collection, snapshot, model.OutputTokens, model.EmbeddingLength, _tokens, options.Value.MilvusOverfetch);
        }

        var lazy = _loaded.GetOrAdd(snapshot.Path, path =>
        {
            _order.Enqueue(path);
            return new Lazy<EmbeddedVectorIndex>(() => EmbeddedVectorIndex.Load(path), LazyThreadSafetyMode.ExecutionAndPublication);
        });
        while (_order.Count > 2 && _order.TryDequeue(out var old))
        {
            _loaded.TryRemove(old, out _);
        }

        return lazy.Value;
    }

    public void Dispose() => _tokens.Dispose();
}
