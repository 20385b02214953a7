using Icdiff.Index.Embedded;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// Owns one gallery index. A sealed pass that changed the index is written to a new file and a "current" pointer is
/// replaced atomically, so a worker still reading an earlier snapshot is never disturbed and a crash mid-save leaves
/// the previous index in place; a pass that changed nothing hands out the current snapshot again. Earlier snapshot
/// files are kept for <see cref="SnapshotRetention"/> (runs still scanning against them may need to load them on a
/// new silo), then deleted at a later seal.
/// </summary>
internal sealed partial class GalleryIndexGrain(IOptions<AuditSiloOptions> options, ILogger<GalleryIndexGrain> logger) : Grain, IGalleryIndexGrain
{
    private const string PointerFile = "current";

    /// <summary>How long a superseded snapshot file is kept.</summary>
    private static readonly TimeSpan SnapshotRetention = TimeSpan.FromDays(7);

    /// <summary>A pass not sealed within this time belongs to a run that was lost; it no longer holds back removals.</summary>
    private static readonly TimeSpan AbandonedPass = TimeSpan.FromDays(1);

    private readonly Dictionary<Guid, Pass> _passes = [];
    private EmbeddedVectorIndex? _index;
    private Dictionary<string, int> _latestByKey = new(StringComparer.Ordinal);
    private string _fingerprint = string.Empty;
    private string? _currentFile;
    private bool _changed;

    private string Folder => Path.Combine(options.Value.DataDirectory, "galleries", this.GetPrimaryKeyString());

    public Task<Guid> BeginPassAsync(int tokens, int dim, string fingerprint)
    {
        if (_index is null || _index.Tokens != tokens || _index.Dim != dim || _fingerprint != fingerprint)
        {
            _index = TryLoad(tokens, dim) ?? new EmbeddedVectorIndex(tokens, dim);
            _fingerprint = fingerprint;
            _latestByKey = OrdinalsByKey(_index);
            _changed = _currentFile is null;
        }

        var id = Guid.NewGuid();
        _passes[id] = new Pass(DateTimeOffset.UtcNow);
        return Task.FromResult(id);
    }

    public Task<IReadOnlyList<ImageRef>> FilterNewAsync(Guid pass, IReadOnlyList<ImageRef> items)
    {
        var index = _index ?? throw new InvalidOperationException("BeginPassAsync must be called first.");
        var seen = OpenPass(pass).Seen;
        var fresh = new List<ImageRef>();
        foreach (var item in items)
        {
            seen.Add(item.Key);
            if (!_latestByKey.TryGetValue(item.Key, out var ordinal) || index.StampOf(ordinal) != item.Stamp)
            {
                fresh.Add(item);
            }
        }

        return Task.FromResult<IReadOnlyList<ImageRef>>(fresh);
    }

    public Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings)
    {
        var index = _index ?? throw new InvalidOperationException("BeginPassAsync must be called first.");
        foreach (var e in embeddings)
        {
            // A changed image is appended; the older entry under the same key is dropped when the pass is sealed.
            index.Add(e.Image.Key, e.Image.Stamp, e.Embedding);
            _latestByKey[e.Image.Key] = index.Count - 1;
            _changed = true;
        }

        return Task.CompletedTask;
    }

    public Task<GallerySnapshot> SealPassAsync(Guid pass)
    {
        var index = _index ?? throw new InvalidOperationException("BeginPassAsync must be called first.");
        var seen = OpenPass(pass).Seen;
        _passes.Remove(pass);
        foreach (var abandoned in _passes.Where(p => DateTimeOffset.UtcNow - p.Value.StartedAt > AbandonedPass).Select(p => p.Key).ToList())
        {
            _passes.Remove(abandoned);
        }

        // Superseded entries (an image changed and embedded again) always go; entries this pass did not list go only
        // when no other pass is open, since an overlapping run may have listed (and be searching for) them.
        var othersOpen = _passes.Count > 0;
        var removed = index.Retain(i =>
        {
            var key = index.KeyOf(i);
            return _latestByKey[key] == i && (othersOpen || seen.Contains(key));
        });
        if (removed > 0)
        {
            _latestByKey = OrdinalsByKey(index);
            _changed = true;
        }

        if (!_changed && _currentFile is not null && File.Exists(_currentFile))
        {
            return Task.FromResult(new GallerySnapshot(_currentFile, index.Count, _fingerprint));
        }

        Directory.CreateDirectory(Folder);
        var file = Path.Combine(Folder, $"index-{DateTime.UtcNow:yyyyMMddHHmmssfff}-{Guid.NewGuid():N}.bin");
        index.Save(file);
        var pointer = Path.Combine(Folder, PointerFile);
        File.WriteAllText(pointer + ".tmp", Path.GetFileName(file) + "\n" + _fingerprint);
        File.Move(pointer + ".tmp", pointer, overwrite: true);
        _currentFile = file;
        _changed = false;
        DeleteExpiredSnapshots(file);

        Log.Sealed(logger, this.GetPrimaryKeyString(), index.Count, removed);
        return Task.FromResult(new GallerySnapshot(file, index.Count, _fingerprint));
    }

    private Pass OpenPass(Guid pass) =>
        _passes.TryGetValue(pass, out var open) ? open : throw new InvalidOperationException($"gallery pass {pass} is not open (this index was re-activated after its silo was lost, or the pass was sealed); the run starts its gallery pass again.");

    private void DeleteExpiredSnapshots(string current)
    {
        foreach (var file in Directory.EnumerateFiles(Folder, "index-*.bin"))
        {
            if (file != current && DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > SnapshotRetention)
            {
                TryDelete(file);
            }
        }
    }

    private sealed record Pass(DateTimeOffset StartedAt)
    {
        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Key to ordinal; where a key repeats (a changed image appended), the later entry wins.</summary>
    private static Dictionary<string, int> OrdinalsByKey(EmbeddedVectorIndex index)
    {
        var map = new Dictionary<string, int>(index.Count, StringComparer.Ordinal);
        for (var i = 0; i < index.Count; i++)
        {
            map[index.KeyOf(i)] = i;
        }

        return map;
    }

    private EmbeddedVectorIndex? TryLoad(int tokens, int dim)
    {
        var pointer = Path.Combine(Folder, PointerFile);
        if (!File.Exists(pointer))
        {
            return null;
        }

        try
        {
            var lines = File.ReadAllLines(pointer);
            var file = Path.Combine(Folder, lines[0]);
            var loaded = EmbeddedVectorIndex.Load(file);
            if (loaded.Tokens != tokens || loaded.Dim != dim)
            {
                return null;
            }

            _currentFile = file;
            return loaded;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            // A damaged index is rebuilt rather than trusted.
            Log.DiscardedIndex(logger, ex, Folder);
            return null;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // Left for the next pass; an extra file costs disk, not correctness.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.GallerySealed, Level = LogLevel.Information, Message = "Gallery index {Gallery} sealed: {Count} entries ({Removed} dropped as no longer listed or replaced)")]
        public static partial void Sealed(ILogger logger, string gallery, int count, int removed);

        [LoggerMessage(EventId = GrainEventIds.GalleryIndexDiscarded, Level = LogLevel.Warning, Message = "Gallery index in {Folder} could not be read and will be rebuilt")]
        public static partial void DiscardedIndex(ILogger logger, Exception exception, string folder);
    }
}
