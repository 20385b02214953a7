using Icdiff.Index.Embedded;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// Owns one gallery index. Each sealed pass is written to a new file and a "current" pointer is replaced
/// atomically, so a worker still reading the previous snapshot is never disturbed and a crash mid-save
/// leaves the previous index in place.
/// </summary>
internal sealed partial class GalleryIndexGrain(IOptions<AuditSiloOptions> options, ILogger<GalleryIndexGrain> logger) : Grain, IGalleryIndexGrain
{
    private const string PointerFile = "current";

    private EmbeddedVectorIndex? _index;
    private Dictionary<string, int> _latestByKey = new(StringComparer.Ordinal);
    private HashSet<string> _seen = new(StringComparer.Ordinal);
    private string _fingerprint = string.Empty;
    private string? _currentFile;

    private string Folder => Path.Combine(options.Value.DataDirectory, "galleries", this.GetPrimaryKeyString());

    public Task BeginPassAsync(int tokens, int dim, string fingerprint)
    {
        if (_index is null || _index.Tokens != tokens || _index.Dim != dim || _fingerprint != fingerprint)
        {
            _index = TryLoad(tokens, dim) ?? new EmbeddedVectorIndex(tokens, dim);
            _fingerprint = fingerprint;
            _latestByKey = OrdinalsByKey(_index);
        }

        _seen = new HashSet<string>(StringComparer.Ordinal);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ImageRef>> FilterNewAsync(IReadOnlyList<ImageRef> items)
    {
        var index = _index ?? throw new InvalidOperationException("BeginPassAsync must be called first.");
        var fresh = new List<ImageRef>();
        foreach (var item in items)
        {
            _seen.Add(item.Key);
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
        }

        return Task.CompletedTask;
    }

    public Task<GallerySnapshot> SealPassAsync()
    {
        var index = _index ?? throw new InvalidOperationException("BeginPassAsync must be called first.");
        var removed = index.Retain(i =>
        {
            var key = index.KeyOf(i);
            return _seen.Contains(key) && _latestByKey[key] == i;
        });
        _latestByKey = OrdinalsByKey(index);

        Directory.CreateDirectory(Folder);
        var file = Path.Combine(Folder, $"index-{DateTime.UtcNow:yyyyMMddHHmmssfff}-{Guid.NewGuid():N}.bin");
        index.Save(file);
        var pointer = Path.Combine(Folder, PointerFile);
        File.WriteAllText(pointer + ".tmp", Path.GetFileName(file) + "\n" + _fingerprint);
        File.Move(pointer + ".tmp", pointer, overwrite: true);
        var previous = _currentFile;
        _currentFile = file;
        if (previous is not null && previous != file)
        {
            TryDelete(previous);
        }

        Log.Sealed(logger, this.GetPrimaryKeyString(), index.Count, removed);
        return Task.FromResult(new GallerySnapshot(file, index.Count, _fingerprint));
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
