using System.Security.Cryptography;
using System.Text;
using Icdiff.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// Drives one audit: a streaming pass over the gallery (only new content is embedded), a seal, then a streaming
/// pass over each model's corpus in fixed-size shards. The driver runs as a background task on the grain's
/// scheduler, so status queries interleave with it; shards are dispatched to worker grains with a bounded
/// number in flight and retried when a call fails (a silo lost mid-call).
/// </summary>
internal sealed partial class AuditRunGrain(
    IOptions<AuditSiloOptions> options,
    IEmbedderProvider embedders,
    CorpusSourceResolver corpora,
    ILogger<AuditRunGrain> logger) : Grain, IAuditRunGrain, IDisposable
{
    private readonly List<SkipRecord> _gallerySkipped = [];
    private readonly Dictionary<string, ModelProgress> _models = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _cancel = new();
    private AuditRequest? _request;
    private RunState _state = RunState.Pending;
    private string? _error;
    private int _galleryListed;
    private int _galleryDone;
    private int _galleryEmbedded;
    private bool _galleryListingComplete;
    private DateTimeOffset? _startedAt;
    private DateTimeOffset? _finishedAt;
    private string? _modelName;
    private string? _scoring;
    private Task? _driver;

    public Task<RunStatus> StartAsync(AuditRequest request)
    {
        if (_request is not null)
        {
            return GetStatusAsync();
        }

        _request = request;
        _startedAt = DateTimeOffset.UtcNow;
        foreach (var model in request.Generated)
        {
            _models[model.Model] = new ModelProgress(model.Model, 0, 0, false);
        }

        // Keep the activation alive while the run is going; the driver resets this when it finishes.
        DelayDeactivation(TimeSpan.FromDays(7));
        Log.RunStarted(logger, this.GetPrimaryKeyString(), request.GalleryLocation, request.Generated.Count);
        _driver = DriveAsync(request, _cancel.Token);
        return GetStatusAsync();
    }

    public Task<RunStatus> GetStatusAsync() => Task.FromResult(new RunStatus(
        this.GetPrimaryKeyString(),
        _state,
        _error,
        _galleryListed,
        _galleryDone,
        _galleryEmbedded,
        _galleryListingComplete,
        [.. _models.Values],
        [.. _gallerySkipped],
        _startedAt,
        _finishedAt,
        _modelName,
        _scoring));

    public async Task CancelAsync()
    {
        await _cancel.CancelAsync();
        if (_driver is { } driver)
        {
            await driver;
        }
    }

    public void Dispose() => _cancel.Dispose();

    private async Task DriveAsync(AuditRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var embedder = embedders.Get(request.ModelManifest);
            _modelName = embedder.Manifest.Name;
            _scoring = embedder.Manifest.Scoring.Describe();
            var settings = options.Value;
            var dispatcher = new ShardDispatcher(GrainFactory, settings.EffectiveShardsInFlight, settings.ShardAttempts, logger);

            _state = RunState.IndexingGallery;
            var snapshot = await IndexGalleryAsync(request, embedder, dispatcher, cancellationToken);

            _state = RunState.Scanning;
            foreach (var model in request.Generated)
            {
                await ScanModelAsync(request, model, snapshot, dispatcher, cancellationToken);
            }

            await dispatcher.DrainAsync();
            _state = RunState.Completed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _state = RunState.Cancelled;
        }
        catch (Exception ex)
        {
            _state = RunState.Failed;
            _error = ex.Message;
            Log.RunFailed(logger, ex, this.GetPrimaryKeyString());
        }
        finally
        {
            _finishedAt = DateTimeOffset.UtcNow;
            DelayDeactivation(TimeSpan.FromHours(1));
            Log.RunFinished(logger, this.GetPrimaryKeyString(), _state);
        }
    }

    private async Task<GallerySnapshot> IndexGalleryAsync(AuditRequest request, IEmbedder embedder, ShardDispatcher dispatcher, CancellationToken cancellationToken)
    {
        var manifest = embedder.Manifest;
        var gallery = GrainFactory.GetGrain<IGalleryIndexGrain>(GalleryIndexKey(request.GalleryLocation, embedder.Fingerprint));
        await gallery.BeginPassAsync(manifest.OutputTokens, manifest.OutputDim, embedder.Fingerprint);
        var source = corpora.Open(request.GalleryLocation);
        await foreach (var chunk in Chunk(source.ListAsync(cancellationToken), request.ShardSize, cancellationToken))
        {
            _galleryListed += chunk.Count;
            var fresh = await gallery.FilterNewAsync(chunk);
            _galleryDone += chunk.Count - fresh.Count;
            if (fresh.Count == 0)
            {
                continue;
            }

            var batch = new GalleryBatch(request.GalleryLocation, request.ModelManifest, fresh);
            await dispatcher.DispatchAsync(
                worker => worker.EmbedGalleryAsync(batch),
                async result =>
                {
                    await gallery.AddAsync(result.Embedded);
                    _gallerySkipped.AddRange(result.Skipped);
                    _galleryEmbedded += result.Embedded.Count;
                    _galleryDone += fresh.Count;
                },
                cancellationToken);
        }

        _galleryListingComplete = true;
        await dispatcher.DrainAsync();
        cancellationToken.ThrowIfCancellationRequested();
        return await gallery.SealPassAsync();
    }

    private async Task ScanModelAsync(AuditRequest request, ModelCorpus model, GallerySnapshot snapshot, ShardDispatcher dispatcher, CancellationToken cancellationToken)
    {
        var source = corpora.Open(model.Location);
        var aggregate = GrainFactory.GetGrain<IModelAggregateGrain>($"{this.GetPrimaryKeyString()}/{model.Model}");
        var shardIndex = 0;
        await foreach (var chunk in Chunk(source.ListAsync(cancellationToken), request.ShardSize, cancellationToken))
        {
            var progress = _models[model.Model];
            _models[model.Model] = progress with { Listed = progress.Listed + chunk.Count };
            var shard = new ScanShard(this.GetPrimaryKeyString(), model.Model, shardIndex++, model.Location, request.ModelManifest, snapshot, request.Candidates, chunk);
            await dispatcher.DispatchAsync(
                worker => worker.ScanAsync(shard),
                async result =>
                {
                    if (await aggregate.ReportAsync(result))
                    {
                        var current = _models[model.Model];
                        _models[model.Model] = current with { Done = current.Done + result.Matches.Count + result.Skipped.Count };
                    }
                },
                cancellationToken);
        }

        _models[model.Model] = _models[model.Model] with { ListingComplete = true };
    }

    private static async IAsyncEnumerable<IReadOnlyList<ImageRef>> Chunk(IAsyncEnumerable<CorpusItem> items, int size, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chunk = new List<ImageRef>(size);
        await foreach (var item in items.WithCancellation(cancellationToken))
        {
            chunk.Add(item.ToWire());
            if (chunk.Count == size)
            {
                yield return chunk;
                chunk = new List<ImageRef>(size);
            }
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    /// <summary>Index identity: the model's fingerprint plus the gallery location, so two galleries or two models never share an index.</summary>
    internal static string GalleryIndexKey(string galleryLocation, string fingerprint)
    {
        var location = galleryLocation.Contains("://", StringComparison.Ordinal) ? galleryLocation : Path.GetFullPath(galleryLocation);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(location)))[..16];
        return $"{fingerprint}-{hash}";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.RunStarted, Level = LogLevel.Information, Message = "Run {Run} started: gallery {Gallery}, {Models} model corpora")]
        public static partial void RunStarted(ILogger logger, string run, string gallery, int models);

        [LoggerMessage(EventId = GrainEventIds.RunFinished, Level = LogLevel.Information, Message = "Run {Run} finished: {State}")]
        public static partial void RunFinished(ILogger logger, string run, RunState state);

        [LoggerMessage(EventId = GrainEventIds.RunFailed, Level = LogLevel.Error, Message = "Run {Run} failed")]
        public static partial void RunFailed(ILogger logger, Exception exception, string run);
    }
}
