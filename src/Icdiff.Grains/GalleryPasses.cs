namespace Icdiff.Grains;

/// <summary>
/// The listing passes open on one gallery index (embedded, or one partition of a sharded one) and which entry is the
/// latest of each key. Runs over the same gallery may overlap: each has its own pass, and a seal drops entries no pass
/// listed only when no other pass is open; superseded entries (an image changed and embedded again) always go.
/// </summary>
public sealed class GalleryPasses
{
    /// <summary>A pass not sealed within this time belongs to a run that was lost; it no longer holds back removals.</summary>
    private static readonly TimeSpan AbandonedPass = TimeSpan.FromDays(1);

    private readonly Dictionary<Guid, (DateTimeOffset StartedAt, HashSet<string> Seen)> _open = [];
    private Dictionary<string, int> _latestByKey = new(StringComparer.Ordinal);

    public void Open(Guid pass) => _open[pass] = (DateTimeOffset.UtcNow, new HashSet<string>(StringComparer.Ordinal));

    /// <summary>Forgets the entries' ordinals and reads them again from an index just loaded or created.</summary>
    public void Reindex(int count, Func<int, string> keyOf)
    {
        // Where a key repeats (a changed image appended), the later entry wins.
        _latestByKey = new Dictionary<string, int>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            _latestByKey[keyOf(i)] = i;
        }
    }

    /// <summary>Marks the items as listed by <paramref name="pass"/> and returns those not indexed with their current stamp.</summary>
    public List<ImageRef> FilterNew(Guid pass, IReadOnlyList<ImageRef> items, Func<int, string> stampOf)
    {
        var seen = Seen(pass);
        var fresh = new List<ImageRef>();
        foreach (var item in items)
        {
            seen.Add(item.Key);
            if (!_latestByKey.TryGetValue(item.Key, out var ordinal) || stampOf(ordinal) != item.Stamp)
            {
                fresh.Add(item);
            }
        }

        return fresh;
    }

    /// <summary>Records that the entry at <paramref name="ordinal"/> is now the latest of <paramref name="key"/>.</summary>
    public void Added(string key, int ordinal) => _latestByKey[key] = ordinal;

    /// <summary>
    /// Closes <paramref name="pass"/> (and passes abandoned long ago), drops what the seal drops through
    /// <paramref name="retain"/> and returns how many entries went.
    /// </summary>
    public int Seal(Guid pass, Func<Func<int, bool>, int> retain, Func<int, string> keyOf, Func<int> count)
    {
        var seen = Seen(pass);
        _open.Remove(pass);
        foreach (var abandoned in _open.Where(p => DateTimeOffset.UtcNow - p.Value.StartedAt > AbandonedPass).Select(p => p.Key).ToList())
        {
            _open.Remove(abandoned);
        }

        var othersOpen = AnyOpen;
        var removed = retain(i =>
        {
            var key = keyOf(i);
            return _latestByKey[key] == i && (othersOpen || seen.Contains(key));
        });
        if (removed > 0)
        {
            Reindex(count(), keyOf);
        }

        return removed;
    }

    public bool AnyOpen => _open.Count > 0;

    /// <summary>
    /// Drops the key index once no pass is open and the owner keeps no building copy (a sharded partition between
    /// passes): it is as large as the keys' share of the index, and the next pass rebuilds it with <see cref="Reindex"/>.
    /// </summary>
    public void Forget()
    {
        if (AnyOpen)
        {
            throw new InvalidOperationException("a gallery pass is still open.");
        }

        _latestByKey = new Dictionary<string, int>(StringComparer.Ordinal);
    }

    private HashSet<string> Seen(Guid pass) =>
        _open.TryGetValue(pass, out var open)
            ? open.Seen
            : throw new InvalidOperationException($"gallery pass {pass} is not open (this index was re-activated after its silo was lost, or the pass was sealed); the run starts its gallery pass again.");
}
