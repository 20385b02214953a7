using System.Security.Cryptography;
using System.Text;
using Icdiff.Core;
using Icdiff.History;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// Drives one audit: a streaming pass over the gallery (only new content is embedded), a seal, then a streaming
/// pass over each model's corpus in fixed-size shards. The driver runs as a background task on the grain's
/// scheduler, so status queries interleave with it; shards are dispatched to worker grains with a bounded
/// number in flight and retried when a call fails (a silo lost mid-call). The run record is stored on every state
/// change and each shard's result by its aggregate, so a run whose silo died, or whose whole cluster restarted,
/// resumes when its grain is next activated (any status call does it) and dispatches only shards not yet stored.
/// </summary>
[HostedOn(SiloRoles.Coordinator)]
internal sealed partial class AuditRunGrain(
    IOptions<AuditSiloOptions> options,
    IEmbedderProvider embedders,
    CorpusSourceResolver corpora,
    WorkerSiloDirectory workers,
    IRunStore store,
    RunHistoryRecorder history,
    IOptions<HistoryOptions> historyOptions,
    IOptions<GalleryIndexOptions> indexOptions,
    GalleryIndexBackends indexBackends,
    ILogger<AuditRunGrain> logger) : Grain, IAuditRunGrain, IDisposable
{
    private readonly List<SkipRecord> _gallerySkipped = [];
    private readonly Dictionary<string, ModelProgress> _models = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, WorkerShare> _workerShares = new(StringComparer.Ordinal);
    private CancellationTokenSource _cancel = new();
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
    private IReadOnlyList<int>? _gradedLevels;
    private string? _galleryIndex;
    private Task? _driver;
    private int _epoch = 1;
    private bool _retryFailed;
    private string? _manifestJson;
    /// <summary>The store generation under which this activation last wrote its record and items (see <see cref="IRunStore.Generation"/>).</summary>
    private long _storeGeneration;
    /// <summary>The end state could not be stored when the run ended (the store was out longer than its retries).</summary>
    private bool _endUnstored;
    /// <summary>While an ended run's activation lives, it keeps the store's copy whole (see <see cref="WatchStoreAfterEnd"/>).</summary>
    private IGrainTimer? _endedStoreWatch;
    /// <summary>Counts the changes followers can see; <see cref="_changed"/> completes at each and is replaced.</summary>
    private long _revision;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (await store.LoadRunAsync(this.GetPrimaryKeyString()) is not { } record)
        {
            return;
        }

        _request = record.Request;
        _epoch = record.Epoch + 1;
        _startedAt = record.StartedAt;
        _finishedAt = record.FinishedAt;
        _state = record.State;
        _error = record.Error;
        _retryFailed = record.RetryFailed;
        foreach (var model in record.Request.Generated)
        {
            _models[model.Model] = new ModelProgress(model.Model, 0, 0, false);
            Changed();
        }

        if (record.State is RunState.Completed or RunState.Failed or RunState.Cancelled)
        {
            await RestoreProgressAsync(record.Request, finished: true);
            _storeGeneration = store.Generation;
            WatchStoreAfterEnd(record.Request);
            return;
        }

        // The run was under way when its previous activation was lost: take it over (a later epoch) and carry on.
        if (!await store.SaveRunAsync(record with { Epoch = _epoch }))
        {
            throw new InvalidOperationException($"run {record.RunId} was taken over by another activation while this one started.");
        }

        Log.RunResumed(logger, this.GetPrimaryKeyString(), record.State);
        // Status shows what is recorded from the first call on, not zeros until the drive reaches each model.
        await RestoreProgressAsync(record.Request, finished: false);
        DelayDeactivation(TimeSpan.FromDays(7));
        await RecordStartInHistoryAsync(record.Request);
        _driver = DriveAsync(record.Request, _cancel.Token);
    }

    public async Task<RunStatus> StartAsync(AuditRequest request)
    {
        if (_request is not null)
        {
            return await GetStatusAsync();
        }

        _request = request;
        _startedAt = DateTimeOffset.UtcNow;
        foreach (var model in request.Generated)
        {
            _models[model.Model] = new ModelProgress(model.Model, 0, 0, false);
            Changed();
        }

        await SaveAsync();
        await RecordStartInHistoryAsync(request);

        // Keep the activation alive while the run is going; the driver resets this when it finishes.
        DelayDeactivation(TimeSpan.FromDays(7));
        Log.RunStarted(logger, this.GetPrimaryKeyString(), request.GalleryLocation, request.Generated.Count);
        _driver = DriveAsync(request, _cancel.Token);
        return await GetStatusAsync();
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
        _scoring,
        [.. _workerShares.Values],
        _gradedLevels,
        _galleryIndex,
        _revision));

    public async Task<RunStatus> WaitForChangeAsync(long seenRevision, TimeSpan maxWait)
    {
        if (_revision == seenRevision && _state is not (RunState.Completed or RunState.Failed or RunState.Cancelled))
        {
            var wait = maxWait < TimeSpan.Zero ? TimeSpan.Zero : maxWait > MaxChangeWait ? MaxChangeWait : maxWait;
            try
            {
                await _changed.Task.WaitAsync(wait);
            }
            catch (TimeoutException)
            {
                // Nothing changed meanwhile: the follower gets the same status and asks again.
            }
        }

        return await GetStatusAsync();
    }

    /// <summary>The longest a follower's call is held: well under any caller's response timeout.</summary>
    private static readonly TimeSpan MaxChangeWait = TimeSpan.FromSeconds(10);

    /// <summary>Something a follower sees changed: the revision moves on and waiting followers are answered.</summary>
    private void Changed()
    {
        _revision++;
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    public Task<AuditRequest?> GetRequestAsync() => Task.FromResult(_request);

    public async Task CancelAsync()
    {
        await _cancel.CancelAsync();
        if (_driver is { } driver)
        {
            await driver;
        }
    }

    public async Task<RunStatus> ResumeAsync(bool retryFailed)
    {
        if (_request is null)
        {
            throw new InvalidOperationException($"run {this.GetPrimaryKeyString()} was never started.");
        }

        var finished = _state is RunState.Completed or RunState.Failed or RunState.Cancelled;
        if (finished && _driver is { IsCompleted: false } ending)
        {
            // The run has ended and its driver is recording the end (store, history): a resume asked in that window
            // waits for it rather than answering with the old status and resuming nothing.
            await Task.WhenAny(ending);
        }

        if (!finished || _driver is { IsCompleted: false } || (_state == RunState.Completed && !retryFailed))
        {
            return await GetStatusAsync();
        }

        if (_cancel.IsCancellationRequested)
        {
            _cancel.Dispose();
            _cancel = new CancellationTokenSource();
        }

        _endedStoreWatch?.Dispose();
        _endedStoreWatch = null;
        _retryFailed |= retryFailed;
        _state = RunState.Pending;
        Changed();
        _error = null;
        _finishedAt = null;
        await SaveAsync();
        Log.RunResumedOnRequest(logger, this.GetPrimaryKeyString(), _retryFailed);
        DelayDeactivation(TimeSpan.FromDays(7));
        await RecordStartInHistoryAsync(_request);
        _driver = DriveAsync(_request, _cancel.Token);
        return await GetStatusAsync();
    }

    public void Dispose()
    {
        _endedStoreWatch?.Dispose();
        _cancel.Dispose();
    }

    private async Task DriveAsync(AuditRequest request, CancellationToken cancellationToken)
    {
        const int ClusterAttempts = 6;
        // Progress goes to the history on a timer, so a dashboard in another process shows a running audit.
        // The same tick writes the run record back if the store lost its data (a Redis restarted empty) meanwhile.
        _storeGeneration = store.Generation;
        using var progressTimer = this.RegisterGrainTimer(
            async _ =>
            {
                if (store.Generation != _storeGeneration)
                {
                    _storeGeneration = store.Generation;
                    await WriteBackToStoreAsync(request);
                }

                await history.ProgressAsync(this.GetPrimaryKeyString(), [.. _models.Values]);
            },
            new GrainTimerCreationOptions { DueTime = historyOptions.Value.ProgressInterval, Period = historyOptions.Value.ProgressInterval, Interleave = true, KeepAlive = true });
        for (var attempt = 1; ; attempt++)
        {
            var settings = options.Value;
            var dispatcher = new ShardDispatcher(GrainFactory, workers, settings.ShardAttempts, settings.WorkerWaitTimeout, new StallLimit(settings.StalledCallFactor, settings.StalledCallFloor), logger);
            try
            {
                await DriveOnceAsync(request, dispatcher, cancellationToken);
                _state = RunState.Completed;
                Changed();
                _retryFailed = false;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Shards already handed to workers finish and are recorded (their results are valid); nothing new starts.
                await dispatcher.SettleAsync();
                _state = RunState.Cancelled;
                Changed();
            }
            catch (Exception ex) when (IsClusterFault(ex))
            {
                // A silo lost or shutting down is not a failure of the run: stored work is kept and the drive starts over.
                await dispatcher.SettleAsync();
                Log.ClusterFault(logger, ex, this.GetPrimaryKeyString(), attempt, ClusterAttempts);
                if (attempt < ClusterAttempts && !cancellationToken.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(8, attempt * 2)), CancellationToken.None);
                    continue;
                }

                // Give up this activation without recording an end: the next activation (any status call) resumes the run.
                TryDeactivate();
                return;
            }
            catch (Exception ex)
            {
                _state = RunState.Failed;
                _error = ex.Message;
                Changed();
                Log.RunFailed(logger, ex, this.GetPrimaryKeyString());
            }

            _finishedAt = DateTimeOffset.UtcNow;
            try
            {
                if (store.Generation != _storeGeneration)
                {
                    _storeGeneration = store.Generation;
                    await WriteBackToStoreAsync(request);
                }

                await SaveAsync();
                _endUnstored = false;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException || IsClusterFault(ex))
            {
                // The store cannot take the end state (a full disk, a Redis out past its retries): the run's outcome
                // stands in this activation, which keeps trying to store it (see WatchStoreAfterEnd).
                _endUnstored = true;
                Log.EndNotStored(logger, ex, this.GetPrimaryKeyString(), _state);
            }
            try
            {
                DelayDeactivation(TimeSpan.FromHours(1));
            }
            catch (InvalidOperationException)
            {
                // This activation's silo is gone (in-process test clusters keep its tasks running); nothing to keep alive.
            }

            Log.RunFinished(logger, this.GetPrimaryKeyString(), _state);
            progressTimer.Dispose();
            WatchStoreAfterEnd(request);
            await history.FinishAsync(GrainFactory, await GetStatusAsync(), request, _manifestJson ?? request.ModelManifest);
            return;
        }
    }

    private async Task DriveOnceAsync(AuditRequest request, ShardDispatcher dispatcher, CancellationToken cancellationToken)
    {
        _galleryListed = _galleryDone = _galleryEmbedded = 0;
        _galleryListingComplete = false;
        _gallerySkipped.Clear();
        var embedder = await embedders.GetOffTurnAsync(request.ModelManifest);
        _modelName = embedder.Manifest.Name;
        _scoring = embedder.Manifest.Scoring.DescribeWithGrading();
        _gradedLevels = embedder.Manifest.Scoring.GradedLevels;
        _galleryIndex = indexBackends.Configured.Describe(indexOptions.Value);

        _state = RunState.IndexingGallery;
        Changed();
        await SaveAsync();
        var snapshot = await IndexGalleryAsync(request, embedder, dispatcher, cancellationToken);

        _state = RunState.Scanning;
        Changed();
        await SaveAsync();
        foreach (var model in request.Generated)
        {
            await ScanModelAsync(request, model, snapshot, dispatcher, cancellationToken);
        }

        await dispatcher.DrainAsync();
    }

    /// <summary>Faults of the cluster rather than of the run: a silo gone, shutting down or unreachable, or this activation's own silo lost.</summary>
    private static bool IsClusterFault(Exception ex) => ex switch
    {
        SiloUnavailableException or OrleansMessageRejectionException or TimeoutException => true,
        InvalidOperationException when ex.Message.StartsWith("Attempt to access an invalid activation", StringComparison.Ordinal) => true,
        // The gallery index grain was re-activated (its silo lost) during this run's pass: the pass starts again.
        InvalidOperationException when ex.Message.StartsWith("gallery pass ", StringComparison.Ordinal) => true,
        OrleansException when ex.Message.Contains("shutting down", StringComparison.OrdinalIgnoreCase) => true,
        AggregateException a => a.InnerExceptions.All(IsClusterFault),
        _ => false,
    };

    private void TryDeactivate()
    {
        try
        {
            DeactivateOnIdle();
        }
        catch (InvalidOperationException)
        {
            // Already invalid: its silo is gone.
        }
    }

    private async Task SaveAsync()
    {
        var record = new RunRecord(this.GetPrimaryKeyString(), _request!, _state, _error, _startedAt ?? DateTimeOffset.UtcNow, _finishedAt, _epoch, _retryFailed);
        if (!await store.SaveRunAsync(record))
        {
            // A later activation owns the run: this one is stale (its silo was cut off) and must stop writing and working.
            Log.Superseded(logger, this.GetPrimaryKeyString(), _epoch);
            await _cancel.CancelAsync();
        }
    }

    /// <summary>
    /// An ended run stays active for a while (status calls, the dashboard); if the store loses its data in that time
    /// (a Redis restarted empty just after the end), or could not take the end state, this activation writes its record
    /// and every model's items back, so a later activation (another coordinator, after this one is gone) finds the
    /// whole run rather than none of it.
    /// </summary>
    private void WatchStoreAfterEnd(AuditRequest request)
    {
        try
        {
            _endedStoreWatch = this.RegisterGrainTimer(
                async _ =>
                {
                    if (store.Generation == _storeGeneration && !_endUnstored)
                    {
                        return;
                    }

                    try
                    {
                        _storeGeneration = store.Generation;
                        await WriteBackToStoreAsync(request);
                        _endUnstored = false;
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException || IsClusterFault(ex))
                    {
                        // Still out: the next tick tries again.
                        _endUnstored = true;
                        Log.EndNotStored(logger, ex, this.GetPrimaryKeyString(), _state);
                    }
                },
                new GrainTimerCreationOptions { DueTime = historyOptions.Value.ProgressInterval, Period = historyOptions.Value.ProgressInterval, Interleave = false, KeepAlive = false });
        }
        catch (InvalidOperationException)
        {
            // This activation's silo is gone (in-process test clusters keep its tasks running); nothing to watch from.
        }
    }

    /// <summary>The store lost its data mid-run: the record and every model's recorded items are written back from memory.</summary>
    private async Task WriteBackToStoreAsync(AuditRequest request)
    {
        await SaveAsync();
        foreach (var model in request.Generated)
        {
            await GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(this.GetPrimaryKeyString(), model.Model)).EnsureStoredAsync();
        }
    }

    private async Task RecordStartInHistoryAsync(AuditRequest request)
    {
        string? name = null;
        string? scoring = null;
        try
        {
            var embedder = await embedders.GetOffTurnAsync(request.ModelManifest);
            name = embedder.Manifest.Name;
            scoring = embedder.Manifest.Scoring.DescribeWithGrading();
            var baseDirectory = File.Exists(request.ModelManifest) ? Path.GetDirectoryName(Path.GetFullPath(request.ModelManifest))! : Environment.CurrentDirectory;
            _manifestJson = ModelManifestJson.Serialize(embedder.Manifest, baseDirectory);
        }
        catch (Exception ex) when (ex is ModelManifestException or IOException or ArgumentException or InvalidOperationException)
        {
            // The run fails on this when it drives; the history still records that it was started.
            _manifestJson = request.ModelManifest;
        }

        await history.StartAsync(this.GetPrimaryKeyString(), request, _startedAt ?? DateTimeOffset.UtcNow, name, scoring, _manifestJson);
    }

    /// <summary>Progress reloaded from the aggregates' stored results, so the status of a finished or resumed run reads as it did.</summary>
    private async Task RestoreProgressAsync(AuditRequest request, bool finished)
    {
        foreach (var model in request.Generated)
        {
            var summary = await GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(this.GetPrimaryKeyString(), model.Model)).GetSummaryAsync(request.MinLevel);
            var done = summary.Scanned + summary.Skipped;
            _models[model.Model] = new ModelProgress(model.Model, done, done, finished);
            Changed();
        }
    }

    private async Task<GallerySnapshot> IndexGalleryAsync(AuditRequest request, IEmbedder embedder, ShardDispatcher dispatcher, CancellationToken cancellationToken)
    {
        var manifest = embedder.Manifest;
        var gallery = GrainFactory.GetGrain<IGalleryIndexGrain>(
            GalleryIndexKey(request.GalleryLocation, embedder.Fingerprint),
            indexBackends.Configured.IndexGrainClass);
        var pass = await gallery.BeginPassAsync(manifest.OutputTokens, manifest.OutputDim, embedder.Fingerprint);
        var source = corpora.Open(request.GalleryLocation);
        await foreach (var chunk in Chunk(source.ListAsync(cancellationToken), request.ShardSize, cancellationToken))
        {
            _galleryListed += chunk.Count;
            Changed();
            var fresh = await gallery.FilterNewAsync(pass, chunk);
            _galleryDone += chunk.Count - fresh.Count;
            if (fresh.Count == 0)
            {
                continue;
            }

            var batch = new GalleryBatch(request.GalleryLocation, request.ModelManifest, fresh);
            await dispatcher.DispatchAsync(
                worker => worker.EmbedGalleryAsync(batch),
                async (result, silo) =>
                {
                    CountShare(result.Silo, silo, galleryItems: fresh.Count, scannedItems: 0);
                    await gallery.AddAsync(result.Embedded);
                    _gallerySkipped.AddRange(result.Skipped);
                    _galleryEmbedded += result.Embedded.Count;
                    _galleryDone += fresh.Count;
                    Changed();
                },
                cancellationToken);
        }

        _galleryListingComplete = true;
        Changed();
        await dispatcher.DrainAsync();
        cancellationToken.ThrowIfCancellationRequested();
        return await gallery.SealPassAsync(pass);
    }

    private async Task ScanModelAsync(AuditRequest request, ModelCorpus model, GallerySnapshot snapshot, ShardDispatcher dispatcher, CancellationToken cancellationToken)
    {
        var source = corpora.Open(model.Location);
        var aggregate = GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(this.GetPrimaryKeyString(), model.Model));
        // Items already recorded (a resumed run) are not dispatched again, nor, when retrying, are those with a match.
        // Listing is deterministic, so shard i holds the same images; only its unrecorded items are sent.
        var recorded = (await aggregate.GetRecordedKeysAsync(matchedOnly: _retryFailed)).ToHashSet(StringComparer.Ordinal);
        _models[model.Model] = new ModelProgress(model.Model, 0, recorded.Count, false);
        Changed();

        // A scheduled run audits only what the schedule's earlier runs did not record: images new since then.
        var earlier = request.Schedule is { } schedule
            ? (await history.Store.GetProcessedKeysAsync(schedule, model.Model, cancellationToken)).ToHashSet(StringComparer.Ordinal)
            : null;
        if (_retryFailed)
        {
            Log.RetryingFailed(logger, this.GetPrimaryKeyString(), model.Model, recorded.Count);
        }

        var shardIndex = 0;
        var listing = earlier is { Count: > 0 } ? source.ListAsync(cancellationToken).Where(i => !earlier.Contains(i.Key)) : source.ListAsync(cancellationToken);
        await foreach (var chunk in Chunk(listing, request.ShardSize, cancellationToken))
        {
            var progress = _models[model.Model];
            _models[model.Model] = progress with { Listed = progress.Listed + chunk.Count };
            Changed();
            var pending = recorded.Count == 0 ? chunk : [.. chunk.Where(i => !recorded.Contains(i.Key))];
            if (pending.Count == 0)
            {
                shardIndex++;
                continue;
            }

            var shard = new ScanShard(this.GetPrimaryKeyString(), model.Model, shardIndex++, model.Location, request.ModelManifest, snapshot, request.Candidates, pending, request.EffectiveMatchRule);
            await dispatcher.DispatchAsync(
                worker => worker.ScanAsync(shard),
                (report, silo) =>
                {
                    CountShare(report.Silo, silo, galleryItems: 0, scannedItems: report.Items);
                    var current = _models[model.Model];
                    var done = _retryFailed ? current.Done + report.Items : Math.Max(current.Done, report.RecordedTotal);
                    _models[model.Model] = current with { Done = done };
                    Changed();
                    return Task.CompletedTask;
                },
                cancellationToken);
        }

        _models[model.Model] = _models[model.Model] with { ListingComplete = true };
        Changed();
    }

    /// <summary>Counts a batch for the silo that says it did it (<paramref name="reported"/>), else the one it was sent to.</summary>
    private void CountShare(string reported, SiloAddress sentTo, int galleryItems, int scannedItems)
    {
        var name = reported.Length > 0 ? reported : sentTo.ToParsableString();
        var share = _workerShares.GetValueOrDefault(name) ?? new WorkerShare(name, 0, 0, 0);
        _workerShares[name] = share with { GalleryItems = share.GalleryItems + galleryItems, ScannedItems = share.ScannedItems + scannedItems, Batches = share.Batches + 1 };
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

        [LoggerMessage(EventId = GrainEventIds.RunResumed, Level = LogLevel.Warning, Message = "Run {Run} resumed from its stored state ({State})")]
        public static partial void RunResumed(ILogger logger, string run, RunState state);

        [LoggerMessage(EventId = GrainEventIds.RunSuperseded, Level = LogLevel.Warning, Message = "Run {Run}: activation of epoch {Epoch} was superseded by a later one and stops")]
        public static partial void Superseded(ILogger logger, string run, int epoch);

        [LoggerMessage(EventId = GrainEventIds.RunClusterFault, Level = LogLevel.Warning, Message = "Run {Run}: a cluster fault interrupted the drive (attempt {Attempt} of {Attempts}); stored work is kept")]
        public static partial void ClusterFault(ILogger logger, Exception exception, string run, int attempt, int attempts);

        [LoggerMessage(EventId = GrainEventIds.RunRetryingFailed, Level = LogLevel.Information, Message = "Run {Run}, model {Model}: re-running skipped items ({Matched} items with a match are kept)")]
        public static partial void RetryingFailed(ILogger logger, string run, string model, int matched);

        [LoggerMessage(EventId = GrainEventIds.RunResumedOnRequest, Level = LogLevel.Information, Message = "Run {Run} resumed on request (retrying skipped items: {RetryFailed})")]
        public static partial void RunResumedOnRequest(ILogger logger, string run, bool retryFailed);

        [LoggerMessage(EventId = GrainEventIds.RunEndNotStored, Level = LogLevel.Error, Message = "Run {Run} ended {State} but the run store could not record it")]
        public static partial void EndNotStored(ILogger logger, Exception exception, string run, RunState state);

        [LoggerMessage(EventId = GrainEventIds.RunFailed, Level = LogLevel.Error, Message = "Run {Run} failed")]
        public static partial void RunFailed(ILogger logger, Exception exception, string run);
    }
}
