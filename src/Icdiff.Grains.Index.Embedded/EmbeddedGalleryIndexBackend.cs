using System.Collections.Concurrent;
using Icdiff.Core;
using Icdiff.Index.Embedded;

namespace Icdiff.Grains.Index.Embedded;

/// <summary>
/// The embedded backend: a worker loads a sealed snapshot's index file whole. A snapshot file never changes once
/// written (new passes write new files), so caching by path is safe; only the two most recent stay in memory.
/// </summary>
internal sealed class EmbeddedGalleryIndexBackend : IGalleryIndexBackend
{
    private readonly ConcurrentDictionary<string, Lazy<EmbeddedVectorIndex>> _loaded = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public string Kind => GalleryBackends.Embedded;

    public string IndexGrainClass => typeof(GalleryIndexGrain).FullName!;

    public string Describe(GalleryIndexOptions options) => GalleryBackends.Embedded;

    public IGalleryIndex Open(GallerySnapshot snapshot, ModelManifest model)
    {
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
}
