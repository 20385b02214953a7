using System.Collections.Concurrent;
using Icdiff.Index.Embedded;

namespace Icdiff.Grains;

/// <summary>
/// Silo-local cache of sealed gallery snapshots. A snapshot file never changes once written (new passes write
/// new files), so caching by path is safe; only the two most recent snapshots are kept in memory.
/// </summary>
public sealed class GalleryIndexCache
{
    private readonly ConcurrentDictionary<string, Lazy<EmbeddedVectorIndex>> _loaded = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public EmbeddedVectorIndex Get(GallerySnapshot snapshot)
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
