using Icdiff.Index.Embedded;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Embedded;

/// <summary>
/// Owns one gallery index. A sealed pass that changed the index is written to a new file and a "current" pointer is
/// replaced atomically, so a worker still reading an earlier snapshot is never disturbed and a crash mid-save leaves
/// the previous index in place; a pass that changed nothing hands out the current snapshot again. Earlier snapshot
/// files are kept for <see cref="SnapshotFiles.Retention"/> (runs still scanning against them may need to load them on a
/// new silo), then deleted at a later seal.
/// </summary>
[HostedOn(SiloRoles.Coordinator)]
internal sealed partial class GalleryIndexGrain(IOptions<AuditSiloOptions> options, ILogger<GalleryIndexGrain> logger) : Grain, IGalleryIndexGrain
{
    private readonly GalleryPasses _passes = new();
    private EmbeddedVectorIndex? _index;
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
            _passes.Reindex(_index.Count, _index.KeyOf);
            _changed = _currentFile is null;
        }

        var id = Guid.NewGuid();
        _passes.Open(id);
        return Task.FromResult(id);
    }

    public Task<IReadOnlyList<ImageRef>> FilterNewAsync(Guid pass, IReadOnlyList<ImageRef> items)
    {
        var index = _index ?? throw PassNotOpen();
        return Task.FromResult<IReadOnlyList<ImageRef>>(_passes.FilterNew(pass, items, index.StampOf));
    }

    public Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings)
    {
        var index = _index ?? throw PassNotOpen();
        foreach (var e in embeddings)
        {
            // A changed image is appended; the older entry under the same key is dropped when the pass is sealed.
            index.Add(e.Image.Key, e.Image.Stamp, e.Embedding);
            _passes.Added(e.Image.Key, index.Count - 1);
            _changed = true;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// No pass is open on this activation: it was re-activated after its silo was lost (or never begun). The run
    /// treats a "gallery pass" error as a cluster fault and starts its gallery pass again.
    /// </summary>
    private static InvalidOperationException PassNotOpen() =>
        new("gallery pass is not open on this index (re-activated after its silo was lost); the run starts its gallery pass again.");

    public Task<GallerySnapshot> SealPassAsync(Guid pass)
    {
        var index = _index ?? throw PassNotOpen();
        var removed = _passes.Seal(pass, index.Retain, index.KeyOf, () => index.Count);
        _changed |= removed > 0;

        if (!_changed && _currentFile is not null && File.Exists(_currentFile))
        {
            return Task.FromResult(new GallerySnapshot(_currentFile, index.Count, _fingerprint));
        }

        var file = SnapshotFiles.NewFile(Folder);
        index.Save(file);
        SnapshotFiles.Publish(Folder, file, _fingerprint);
        _currentFile = file;
        _changed = false;

        Log.Sealed(logger, this.GetPrimaryKeyString(), index.Count, removed);
        return Task.FromResult(new GallerySnapshot(file, index.Count, _fingerprint));
    }

    private EmbeddedVectorIndex? TryLoad(int tokens, int dim)
    {
        try
        {
            if (SnapshotFiles.Current(Folder) is not { } file)
            {
                return null;
            }

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

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.GallerySealed, Level = LogLevel.Information, Message = "Gallery index {Gallery} sealed: {Count} entries ({Removed} dropped as no longer listed or replaced)")]
        public static partial void Sealed(ILogger logger, string gallery, int count, int removed);

        [LoggerMessage(EventId = GrainEventIds.GalleryIndexDiscarded, Level = LogLevel.Warning, Message = "Gallery index in {Folder} could not be read and will be rebuilt")]
        public static partial void DiscardedIndex(ILogger logger, Exception exception, string folder);
    }
}
