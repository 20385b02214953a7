using System.Globalization;
using System.Runtime.InteropServices;
using Icdiff.Core;
using Icdiff.Index.Embedded;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains.Index.Sharded;

/// <summary>
/// One partition of a sharded gallery index (see <see cref="IGalleryPartitionGrain"/>). Its float16 proxies are in
/// memory; each full embedding is appended once, when it is indexed, to a token segment file of this activation
/// (one writer per file: a partition re-activated on another silo starts a new segment), and the entry keeps its
/// locator. A seal writes a new snapshot file and replaces the "current" pointer (<see cref="SnapshotFiles"/>), so
/// searches of an earlier snapshot (a run still scanning it, or a partition re-activated after its silo was lost)
/// load that file and carry on. Segment files are never rewritten, so every snapshot's locators stay valid.
/// </summary>
[PartitionSpreadPlacement]
[HostedOn(SiloRoles.Worker)]
internal sealed partial class GalleryPartitionGrain(IOptions<AuditSiloOptions> options, ILogger<GalleryPartitionGrain> logger) : Grain, IGalleryPartitionGrain, IDisposable
{
    private readonly GalleryPasses _passes = new();
    private readonly CoalescingPartitionSearch _searches = new();

    // Sealed snapshots are immutable, so searches read them beside a pass that writes the next one.
    private readonly Dictionary<string, Lazy<HalfProxyPartition>> _snapshots = new(StringComparer.Ordinal);
    private HalfProxyPartition? _building;
    private string _fingerprint = string.Empty;
    private int _tokens;
    private string? _currentFile;
    private bool _changed;
    private TokenSegmentWriter? _segments;

    private string Folder => PartitionFolder(options.Value.DataDirectory, this.GetPrimaryKeyString());

    /// <summary>"{index key}|{i}/{n}" becomes galleries/{index key}/p{i}of{n}.</summary>
    internal static string PartitionFolder(string dataDirectory, string key)
    {
        var bar = key.LastIndexOf('|');
        return Path.Combine(dataDirectory, "galleries", key[..bar], "p" + key[(bar + 1)..].Replace("/", "of", StringComparison.Ordinal));
    }

    public Task BeginPassAsync(Guid pass, int tokens, int dim, string fingerprint)
    {
        if (_building is null || _building.Dim != dim || _tokens != tokens || _fingerprint != fingerprint)
        {
            _building = TryLoadCurrent(dim) ?? new HalfProxyPartition(dim);
            _tokens = tokens;
            _fingerprint = fingerprint;
            _passes.Reindex(_building.Count, _building.KeyOf);
            _changed = _currentFile is null;
        }

        _passes.Open(pass);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ImageRef>> FilterNewAsync(Guid pass, IReadOnlyList<ImageRef> items)
    {
        var building = _building ?? throw PassNotOpen(pass);
        return Task.FromResult<IReadOnlyList<ImageRef>>(_passes.FilterNew(pass, items, building.StampOf));
    }

    public async Task AddAsync(IReadOnlyList<GalleryEmbedding> embeddings)
    {
        var building = _building ?? throw new InvalidOperationException("gallery pass is not open on this partition (re-activated after its silo was lost); the run starts its gallery pass again.");
        _segments ??= new TokenSegmentWriter(Folder);
        // Proxies and segment writes are CPU and I/O work: off the grain's turn (the scheduler warns past a second),
        // while the grain, which is not reentrant, takes no other call until they are done.
        await Task.Run(() => Append(building, _segments, embeddings));
    }

    private void Append(HalfProxyPartition building, TokenSegmentWriter segments, IReadOnlyList<GalleryEmbedding> embeddings)
    {
        var dim = building.Dim;
        var proxy = new float[dim];
        foreach (var e in embeddings)
        {
            if (e.Embedding.Length != _tokens * dim)
            {
                throw new ArgumentException($"embedding of '{e.Image.Key}' has {e.Embedding.Length} floats; this index holds {_tokens} x {dim}.");
            }

            var locator = segments.Append(e.Embedding);
            EmbeddingMath.Proxy(e.Embedding, _tokens, proxy);
            building.Add(e.Image.Key, e.Image.Stamp, _tokens == 1 ? e.Embedding : proxy, locator);
            _passes.Added(e.Image.Key, building.Count - 1);
            _changed = true;
        }
    }

    public async Task<PartitionSnapshot> SealPassAsync(Guid pass)
    {
        var building = _building ?? throw PassNotOpen(pass);
        var removed = _passes.Seal(pass, building.Retain, building.KeyOf, () => building.Count);
        _changed |= removed > 0;

        if (!_changed && _currentFile is not null && File.Exists(_currentFile))
        {
            return new PartitionSnapshot(_currentFile, building.Count);
        }

        if (_segments is not null)
        {
            await _segments.FlushAsync();
        }

        var file = SnapshotFiles.NewFile(Folder);
        // The sealed copy keeps no room to grow: a pass that builds on it starts from its file.
        await Task.Run(() =>
        {
            building.Save(file);
            building.TrimExcess();
        });
        SnapshotFiles.Publish(Folder, file, _fingerprint);
        _currentFile = file;
        _changed = false;

        // The building copy becomes the sealed snapshot searches use; a pass still open (an overlapping run) goes on in
        // a copy of it, and the next pass starts from a copy of its file.
        _snapshots.Clear();
        var sealedCopy = building;
        _snapshots[file] = new Lazy<HalfProxyPartition>(() => sealedCopy);
        if (_passes.AnyOpen)
        {
            _building = await Task.Run(() => HalfProxyPartition.Load(file));
        }
        else
        {
            // The next pass starts from the file (BeginPassAsync): nothing of this one needs to stay but the snapshot.
            _building = null;
            _passes.Forget();
        }

        // A seal ends a bulk load: the embeddings the pass sent here were promoted while they were appended and are now
        // old-generation garbage that no ordinary collection reclaims soon. One compacting collection that returns the
        // memory to the system brings a silo between audits down to its share (measured: 630 -> 518 MB per silo at 500k
        // entries); it costs a blocking collection per partition seal, small against the pass that preceded it.
        await Task.Run(() => GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true));
        Log.Sealed(logger, this.GetPrimaryKeyString(), sealedCopy.Count, removed);
        return new PartitionSnapshot(file, sealedCopy.Count);
    }

    public async Task<PartitionHits> SearchAsync(PartitionSearch search)
    {
        var partition = Snapshot(search.Snapshot);
        // Concurrent searches of this partition (every worker's batches in flight) share one scan (CoalescingPartitionSearch).
        var hits = await _searches.SearchAsync(partition, Array.ConvertAll(search.Proxies, row => (ReadOnlyMemory<float>)row), search.K, search.Limit);
        var keys = new string[hits.Length][];
        var stamps = new string[hits.Length][];
        var scores = new float[hits.Length][];
        var locators = new long[hits.Length][];
        for (var q = 0; q < hits.Length; q++)
        {
            var row = hits[q];
            keys[q] = [.. row.Select(h => partition.KeyOf(h.Ordinal))];
            stamps[q] = [.. row.Select(h => partition.StampOf(h.Ordinal))];
            scores[q] = [.. row.Select(h => h.ApproximateScore)];
            locators[q] = [.. row.Select(h => partition.LocatorOf(h.Ordinal))];
        }

        return new PartitionHits(Folder, keys, stamps, scores, locators);
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

    /// <summary>The named snapshot: the one this activation sealed, or its file (at most two are kept loaded).</summary>
    private HalfProxyPartition Snapshot(string file)
    {
        var folder = Path.GetFullPath(Folder) + Path.DirectorySeparatorChar;
        if (!Path.GetFullPath(file).StartsWith(folder, StringComparison.Ordinal))
        {
            throw new ArgumentException($"snapshot '{file}' does not belong to partition {this.GetPrimaryKeyString()}.");
        }

        if (!_snapshots.TryGetValue(file, out var lazy))
        {
            if (_snapshots.Count >= 2)
            {
                _snapshots.Remove(_snapshots.Keys.First(k => k != _currentFile));
            }

            lazy = new Lazy<HalfProxyPartition>(() => HalfProxyPartition.Load(file), LazyThreadSafetyMode.ExecutionAndPublication);
            _snapshots[file] = lazy;
        }

        return lazy.Value;
    }

    private HalfProxyPartition? TryLoadCurrent(int dim)
    {
        try
        {
            if (SnapshotFiles.Current(Folder) is not { } file)
            {
                return null;
            }

            var loaded = HalfProxyPartition.Load(file);
            if (loaded.Dim != dim)
            {
                return null;
            }

            _currentFile = file;
            return loaded;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            Log.DiscardedPartition(logger, ex, Folder);
            return null;
        }
    }

    private static InvalidOperationException PassNotOpen(Guid pass) =>
        new($"gallery pass {pass} is not open on this partition (re-activated after its silo was lost, or sealed); the run starts its gallery pass again.");

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.PartitionSealed, Level = LogLevel.Information, Message = "Gallery partition {Partition} sealed: {Count} entries ({Removed} dropped as no longer listed or replaced)")]
        public static partial void Sealed(ILogger logger, string partition, int count, int removed);

        [LoggerMessage(EventId = GrainEventIds.PartitionDiscarded, Level = LogLevel.Warning, Message = "Gallery partition in {Folder} could not be read and will be rebuilt")]
        public static partial void DiscardedPartition(ILogger logger, Exception exception, string folder);
    }
}
