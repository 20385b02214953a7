using Icdiff.Index.Embedded;
using Icdiff.Core;
using Icdiff.Index.Milvus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Milvus;

/// <summary>
/// A gallery index whose proxies live in Milvus (<c>Icdiff:Index:Kind=milvus</c>): each gallery image's full tokens are
/// appended once to token segment files under the shared data directory, and its row (key, stamp, proxy, token
/// locator) is upserted into the collection of this (gallery, model) pair. Passes follow the same rules as the other
/// backends (<see cref="GalleryPasses"/>): unchanged images are never embedded again, and a seal deletes the rows of
/// images no longer listed. The coordinator keeps only a catalog of keys and stamps, persisted at each seal.
/// </summary>
[HostedOn(SiloRoles.Coordinator)]
internal sealed partial class MilvusGalleryIndexGrain(
    IOptions<AuditSiloOptions> options,
    IOptions<MilvusOptions> milvus,
    MilvusConnection connection,
    ILogger<MilvusGalleryIndexGrain> logger) : Grain, IGalleryIndexGrain, IDisposable
{
    private readonly GalleryPasses _passes = new();
    private GalleryCatalog? _catalog;
    private string _fingerprint = string.Empty;
    private string? _currentFile;
    private bool _changed;
    private TokenSegmentWriter? _segments;
    private MilvusGalleryCollection? _collection;

    internal static string TokensFolder(string dataDirectory, string indexKey) => Path.Combine(dataDirectory, "galleries", indexKey, "milvus");

    private string Folder => TokensFolder(options.Value.DataDirectory, this.GetPrimaryKeyString());

    private MilvusGalleryCollection Collection => _collection ??= new(connection.Client, milvus.Value, this.GetPrimaryKeyString());

    public async Task<Guid> BeginPassAsync(int tokens, int dim, string fingerprint)
    {
        if (_catalog is null || _catalog.Tokens != tokens || _catalog.Dim != dim || _fingerprint != fingerprint)
        {
            _catalog = TryLoadCurrent(tokens, dim) ?? new GalleryCatalog(tokens, dim);
            _fingerprint = fingerprint;
            _passes.Reindex(_catalog.Count, _catalog.KeyOf);
            _changed = _currentFile is null;
        }

        await Collection.EnsureReadyAsync(dim, CancellationToken.None);
        var pass = Guid.NewGuid();
        _passes.Open(pass);
        return pass;
    }

    public Task<IReadOnlyList<ImageRef>> FilterNewAsync(Guid pass, IReadOnlyList<ImageRef> items)
    {
        var catalog = _catalog ?? throw PassNotOpen(pass);
        return Task.FromResult<IReadOnlyList<ImageRef>>(_passes.FilterNew(pass, items, catalog.StampOf));
    }

    public async Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings)
    {
        var catalog = _catalog ?? throw new InvalidOperationException("no gallery pass is open on this index (re-activated after its silo was lost); the run starts its gallery pass again.");
        _segments ??= new TokenSegmentWriter(Folder);
        var rows = new List<MilvusGalleryRow>(embeddings.Count);
        foreach (var e in embeddings)
        {
            if (e.Embedding.Length != catalog.Tokens * catalog.Dim)
            {
                throw new ArgumentException($"embedding of '{e.Image.Key}' has {e.Embedding.Length} floats; this index holds {catalog.Tokens} x {catalog.Dim}.");
            }

            var proxy = new float[catalog.Dim];
            EmbeddingMath.Proxy(e.Embedding, catalog.Tokens, proxy);
            rows.Add(new MilvusGalleryRow(e.Image.Key, e.Image.Stamp, proxy, _segments.Append(e.Embedding)));
        }

        // A row is searchable as soon as Milvus has it (another run may be scanning): its tokens are on disk first.
        await _segments.FlushAsync();
        await Collection.UpsertAsync(rows, CancellationToken.None);
        foreach (var row in rows)
        {
            catalog.Add(row.Key, row.Stamp, row.Locator);
            _passes.Added(row.Key, catalog.Count - 1);
        }

        _changed = true;
    }

    public async Task<GallerySnapshot> SealPassAsync(Guid pass)
    {
        var catalog = _catalog ?? throw PassNotOpen(pass);
        var dropped = new List<string>();
        var removed = _passes.Seal(
            pass,
            keep => catalog.Retain(i =>
            {
                var kept = keep(i);
                if (!kept)
                {
                    dropped.Add(catalog.KeyOf(i));
                }

                return kept;
            }),
            catalog.KeyOf,
            () => catalog.Count);
        if (removed > 0)
        {
            // A superseded entry's key is still indexed (its row was replaced by the newer upsert): only vanished keys go.
            var remaining = new HashSet<string>(Enumerable.Range(0, catalog.Count).Select(catalog.KeyOf), StringComparer.Ordinal);
            await Collection.DeleteAsync([.. dropped.Where(k => !remaining.Contains(k)).Distinct(StringComparer.Ordinal)], CancellationToken.None);
            _changed = true;
        }

        if (!_changed && _currentFile is not null && File.Exists(_currentFile))
        {
            return Snapshot(_currentFile, catalog.Count);
        }

        await Collection.FlushAsync(CancellationToken.None);
        if (_segments is not null)
        {
            await _segments.FlushAsync();
        }

        var file = SnapshotFiles.NewFile(Folder);
        catalog.Save(file);
        SnapshotFiles.Publish(Folder, file, _fingerprint);
        _currentFile = file;
        _changed = false;
        Log.Sealed(logger, Collection.Name, catalog.Count, removed);
        return Snapshot(file, catalog.Count);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_segments is not null)
        {
            await _segments.DisposeAsync();
            _segments = null;
        }
    }

    public void Dispose() => _segments?.Dispose();

    private GallerySnapshot Snapshot(string file, int count) =>
        new(this.GetPrimaryKeyString(), count, _fingerprint, GalleryBackends.Milvus, [file]);

    private GalleryCatalog? TryLoadCurrent(int tokens, int dim)
    {
        try
        {
            if (SnapshotFiles.Current(Folder) is not { } file)
            {
                return null;
            }

            var loaded = GalleryCatalog.Load(file);
            if (loaded.Tokens != tokens || loaded.Dim != dim)
            {
                return null;
            }

            _currentFile = file;
            return loaded;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            // The collection keeps its rows; the next pass re-embeds the gallery and upserts them again (same keys, one row each).
            Log.DiscardedCatalog(logger, ex, Folder);
            return null;
        }
    }

    private static InvalidOperationException PassNotOpen(Guid pass) =>
        new($"gallery pass {pass} is not open on this index (re-activated after its silo was lost, or sealed); the run starts its gallery pass again.");

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.MilvusIndexSealed, Level = LogLevel.Information, Message = "Gallery index in Milvus collection {Collection} sealed: {Count} entries ({Removed} dropped as no longer listed or replaced)")]
        public static partial void Sealed(ILogger logger, string collection, int count, int removed);

        [LoggerMessage(EventId = GrainEventIds.MilvusCatalogDiscarded, Level = LogLevel.Warning, Message = "Gallery catalog in {Folder} could not be read; the gallery is embedded again")]
        public static partial void DiscardedCatalog(ILogger logger, Exception exception, string folder);
    }
}

/// <summary>One Milvus client per silo (pooled HTTP connection), created on first use: silos of other backends never open one.</summary>
public sealed class MilvusConnection(IOptions<MilvusOptions> options)
{
    private readonly Lazy<MilvusRestClient> _client = new(() => MilvusRestClient.Connect(options.Value));

    public MilvusRestClient Client => _client.Value;
}

/// <summary>
/// A worker's view of a Milvus-backed gallery snapshot: Milvus returns more candidates per query than are re-scored
/// (<see cref="GalleryIndexOptions.MilvusOverfetch"/>), their tokens are read from the shared token segments and the
/// exact float32 cut picks the k re-scored, as the other backends do.
/// </summary>
internal sealed class MilvusGalleryIndex(MilvusGalleryCollection collection, GallerySnapshot snapshot, int tokens, int embeddingLength, TokenSegmentCache tokensRead, int overfetch) : IGalleryIndex
{
    public long Count => snapshot.Count;

    public int EmbeddingLength => embeddingLength;

    public async ValueTask<GalleryCandidate[][]> FindCandidatesAsync(ReadOnlyMemory<float> proxies, int queryCount, int k, CancellationToken cancellationToken)
    {
        var folder = Path.GetDirectoryName(snapshot.Partitions is [var file] ? file : throw new InvalidOperationException($"Milvus gallery snapshot {snapshot.Path} names no catalog."))!;
        var dim = embeddingLength / tokens;
        var rows = TokenReRanking.QueryRows(proxies, queryCount, dim);
        var limit = (int)Math.Clamp((long)k * overfetch, 1, 16_384);
        var hits = await collection.SearchAsync(rows, limit, cancellationToken);
        return await Task.Run(
            () => TokenReRanking.Cut(proxies, queryCount, k, tokens, embeddingLength, tokensRead, (q, candidates) =>
            {
                foreach (var hit in hits[q])
                {
                    candidates.Add(new StoredCandidate(hit.Key, hit.Stamp, folder, hit.Locator));
                }
            }),
            cancellationToken);
    }
}
