using System.Diagnostics;
using System.Buffers;
using System.Threading.Channels;
using Icdiff.Core;
using Microsoft.Extensions.Logging;

namespace Icdiff.Pipeline;

/// <summary>
/// The worker pipeline of one process: read+decode workers (one per core) feed a micro-batching inference
/// stage, which feeds a batched search and exact re-scoring stage. Stages are joined by bounded channels, so a
/// slow stage pushes back on the one before it instead of letting decoded images pile up in memory. Callers
/// (grains) hand over whole batches and await their outcomes; no CPU work happens on the caller's thread.
/// </summary>
public sealed partial class ImagePipeline : IAsyncDisposable
{
    private const int SearchBatchSize = 64;

    private readonly IImageDecoder _decoder;
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<WorkItem> _decodeQueue;
    private readonly Channel<WorkItem> _embedQueue;
    private readonly Channel<WorkItem> _searchQueue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _workers;
    private readonly IDisposable _queueTracking;
    private readonly int _embedCapacity;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<IEmbedder, InferenceGate> _inferenceGates = new();

    /// <summary>
    /// Decoded tensors wait between decoding and inference; this pool keeps one buffer for every slot of that wait.
    /// The shared pool keeps only a few per core and would allocate the rest on the large-object heap, whose churn
    /// forces full collections (measured: a quarter of an audit's time on two cores).
    /// </summary>
    private readonly ArrayPool<float> _pixelPool;

    public ImagePipeline(IImageDecoder decoder, PipelineOptions options, ILogger<ImagePipeline> logger)
    {
        options.Validate();
        _decoder = decoder;
        _options = options;
        _logger = logger;
        var bounded = new BoundedChannelOptions(options.ChannelCapacity) { FullMode = BoundedChannelFullMode.Wait };
        _decodeQueue = Channel.CreateBounded<WorkItem>(bounded);
        // Decoded tensors are large: a few micro-batches of them in waiting keep inference fed without hoarding memory.
        var embedCapacity = Math.Min(options.ChannelCapacity, 4 * options.EmbedBatchSize);
        _embedCapacity = embedCapacity;
        _embedQueue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(embedCapacity) { FullMode = BoundedChannelFullMode.Wait });
        _pixelPool = ArrayPool<float>.Create(1 << 24, embedCapacity + (options.InferenceLoops * options.EmbedBatchSize) + (2 * options.EffectiveDecodeWorkers) + 8);
        _searchQueue = Channel.CreateBounded<WorkItem>(bounded);

        var decoders = Enumerable.Range(0, options.EffectiveDecodeWorkers).Select(_ => Task.Run(DecodeLoopAsync)).ToArray();
        var embed = Enumerable.Range(0, options.InferenceLoops).Select(_ => Task.Run(EmbedLoopAsync)).ToArray();
        var search = Task.Run(SearchLoopAsync);
        _workers = Task.WhenAll(
            Task.WhenAll(decoders).ContinueWith(_ => _embedQueue.Writer.TryComplete(), TaskScheduler.Default),
            Task.WhenAll(embed).ContinueWith(_ => _searchQueue.Writer.TryComplete(), TaskScheduler.Default),
            search);
        _queueTracking = IcdiffTelemetry.TrackQueues(() => QueueDepths);
        Log.Started(_logger, options.EffectiveDecodeWorkers, options.InferenceLoops, options.InferenceWorkers > 0 ? "as set" : "each model runs as many at once as its embedder says it runs well", options.EmbedBatchSize, options.ChannelCapacity);
    }

    /// <summary>Images waiting in each stage, for metrics and progress displays.</summary>
    public (int Decode, int Embed, int Search) QueueDepths => (_decodeQueue.Reader.Count, _embedQueue.Reader.Count, _searchQueue.Reader.Count);

    public async Task<IReadOnlyList<ItemOutcome>> ProcessAsync(PipelineBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Items.Count == 0)
        {
            return [];
        }

        if (batch.Search is { } search && search.Index.Count > 0 && search.Index.EmbeddingLength != batch.Embedder.Manifest.EmbeddingLength)
        {
            throw new InvalidOperationException($"the gallery index holds embeddings of {search.Index.EmbeddingLength} floats but model '{batch.Embedder.Manifest.Name}' produces {batch.Embedder.Manifest.EmbeddingLength}.");
        }

        var state = new BatchState(batch, cancellationToken);
        await using var registration = cancellationToken.Register(static s => ((BatchState)s!).Cancel(), state);
        for (var i = 0; i < batch.Items.Count; i++)
        {
            await _decodeQueue.Writer.WriteAsync(new WorkItem(state, i), cancellationToken);
        }

        return await state.Completion;
    }

    public async ValueTask DisposeAsync()
    {
        _queueTracking.Dispose();
        _decodeQueue.Writer.TryComplete();
        try
        {
            await _workers.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync();
        }

        _stopping.Dispose();
    }

    private async Task DecodeLoopAsync()
    {
        await foreach (var work in _decodeQueue.Reader.ReadAllAsync(_stopping.Token))
        {
            var state = work.State;
            if (state.IsCancelled)
            {
                continue;
            }

            var item = work.Item;
            var started = Stopwatch.GetTimestamp();
            var spec = state.Batch.Embedder.Manifest.Preprocess;
            var pixels = _pixelPool.Rent(spec.TensorLength);

            // Reading and decoding run beside this loop, so that a read that never returns (a file swapped for a FIFO
            // after its check, a hung network mount, a stalled store) or a pathological image (a decoder stuck in a
            // huge or crafted file) costs its time limit, not the worker: past the limit the item is skipped and this
            // loop goes on, while the abandoned job keeps its buffers until it returns. One hand-off covers both steps.
            var job = new ReadDecodeJob(this, state, item, spec, pixels);
            var running = Task.Run(job.RunAsync);
            DecodeResult decoded;
            try
            {
                decoded = await WaitWithinLimitsAsync(running, job, started);
            }
            catch (TimeoutException)
            {
                var pool = _pixelPool;
                _ = running.ContinueWith(_ => { job.ReleaseContent(); pool.Return(pixels); }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                if (job.ReadAt == 0)
                {
                    Log.ReadTimedOut(_logger, item.Key, _options.ReadTimeout.TotalSeconds);
                    state.Complete(work.Index, new ItemOutcome(item, SkipReason.TimedOut, $"reading took longer than {_options.ReadTimeout.TotalSeconds:0.#} s", null, null));
                }
                else
                {
                    Log.DecodeTimedOut(_logger, item.Key, _options.DecodeTimeout.TotalSeconds);
                    state.Complete(work.Index, new ItemOutcome(item, SkipReason.TimedOut, $"decoding took longer than {_options.DecodeTimeout.TotalSeconds:0.#} s", null, null));
                }

                continue;
            }
            catch (OperationCanceledException) when (state.IsCancelled && !_stopping.IsCancellationRequested)
            {
                _pixelPool.Return(pixels);
                continue;
            }

            job.ReleaseContent();
            if (!decoded.Succeeded)
            {
                _pixelPool.Return(pixels);
                state.Complete(work.Index, new ItemOutcome(item, decoded.Skip, decoded.Detail, null, null));
                continue;
            }

            IcdiffTelemetry.Images.Add(1, new KeyValuePair<string, object?>("stage", "decoded"));
            IcdiffTelemetry.DecodeDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            work.ContentId = job.ContentId;
            work.Pixels = pixels;
            work.PixelPool = _pixelPool;
            await _embedQueue.Writer.WriteAsync(work, _stopping.Token);
        }
    }

    /// <summary>
    /// Waits for a read+decode job: the read may take <see cref="PipelineOptions.ReadTimeout"/> from the start, the
    /// decode <see cref="PipelineOptions.DecodeTimeout"/> from the end of the read. One wait covers the usual case;
    /// only a job still running at a limit is looked at again (has its read ended, and when?).
    /// </summary>
    private async Task<DecodeResult> WaitWithinLimitsAsync(Task<DecodeResult> running, ReadDecodeJob job, long started)
    {
        var wait = _options.ReadTimeout < _options.DecodeTimeout ? _options.ReadTimeout : _options.DecodeTimeout;
        while (true)
        {
            try
            {
                return await running.WaitAsync(wait, _stopping.Token);
            }
            catch (TimeoutException)
            {
                var readAt = job.ReadAt;
                var deadline = readAt == 0
                    ? _options.ReadTimeout - Stopwatch.GetElapsedTime(started)
                    : _options.DecodeTimeout - Stopwatch.GetElapsedTime(readAt);
                if (deadline <= TimeSpan.Zero)
                {
                    throw;
                }

                wait = deadline;
            }
        }
    }

    /// <summary>One item's read and decode, run off the decode loop; <see cref="ReadAt"/> marks the end of the read.</summary>
    private sealed class ReadDecodeJob(ImagePipeline pipeline, BatchState state, CorpusItem item, PreprocessSpec spec, float[] pixels)
    {
        private ItemContent _content;
        private int _released;
        private long _readAt;

        /// <summary>When the read ended (a <see cref="Stopwatch"/> timestamp), or 0 while it runs.</summary>
        public long ReadAt => Volatile.Read(ref _readAt);

        public long? ContentId { get; private set; }

        public async Task<DecodeResult> RunAsync()
        {
            try
            {
                _content = await state.Batch.Source.ReadContentAsync(item, pipeline._options.MaxEncodedBytes, state.Token);
            }
            catch (ItemReadException ex)
            {
                Volatile.Write(ref _readAt, Stopwatch.GetTimestamp());
                return DecodeResult.Failed(ex.Reason, ex.Message);
            }
            catch (OperationCanceledException) when (state.IsCancelled)
            {
                throw;
            }
            catch (Exception ex)
            {
                Volatile.Write(ref _readAt, Stopwatch.GetTimestamp());
                return DecodeResult.Failed(SkipReason.ReadFailed, ex.Message);
            }

            Volatile.Write(ref _readAt, Stopwatch.GetTimestamp());
            if (state.Batch.ContentIds)
            {
                ContentId = GalleryIds.FromContent(_content.Span);
            }

            return pipeline.DecodeOrFail(_content, spec, pixels);
        }

        /// <summary>Returns the read buffer to its pool, once, whoever gets there first.</summary>
        public void ReleaseContent()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _content.Dispose();
            }
        }
    }

    private DecodeResult DecodeOrFail(ItemContent content, PreprocessSpec spec, float[] pixels)
    {
        try
        {
            return _decoder.Decode(content.Span, spec, pixels);
        }
        catch (Exception ex)
        {
            // The decoder promises data-level failures, not exceptions; a native surprise still must not stop the run.
            return DecodeResult.Failed(SkipReason.Corrupt, "decoder failed: " + ex.Message);
        }
    }

    /// <summary>
    /// One of <see cref="PipelineOptions.InferenceLoops"/> inference loops. Each model's batches are admitted by its
    /// own gate (<see cref="PipelineOptions.InferenceWorkersFor"/>), so a model whose inference spreads over every core
    /// runs one batch at a time while one that runs on a thread per inference runs one per core; a loop waiting at a
    /// gate holds only its micro-batch, and the bounded queue before it keeps the decoders from running ahead.
    /// </summary>
    private async Task EmbedLoopAsync()
    {
        var pending = new List<WorkItem>(_options.EmbedBatchSize);
        while (await TakeMicroBatchAsync(_embedQueue.Reader, pending, _options.EmbedBatchSize))
        {
            foreach (var group in pending.GroupBy(w => w.State.Batch.Embedder))
            {
                var gate = _inferenceGates.GetOrAdd(group.Key, CreateGate);
                await gate.EnterAsync(TimeSpan.FromMilliseconds(_options.FlushMilliseconds), _stopping.Token);
                try
                {
                    await EmbedGroupAsync(group.Key, [.. group]);
                }
                finally
                {
                    gate.Exit();
                }
            }

            pending.Clear();
        }
    }

    private InferenceGate CreateGate(IEmbedder embedder)
    {
        var adaptive = _options.InferenceWorkers == 0;
        // A further inference only once the queue before inference is half full: the decoders are outrunning inference
        // (a pause of a few milliseconds only leaves a batch or two waiting).
        var gate = new InferenceGate(_options.InferenceWorkersFor(embedder), adaptive, () => _embedQueue.Reader.Count, Math.Max(_options.EmbedBatchSize, _embedCapacity / 2));
        Log.InferenceLayout(_logger, embedder.Manifest.Name, gate.Width, adaptive ? "a further one only while the queue before inference is half full" : "as set");
        return gate;
    }

    private async Task EmbedGroupAsync(IEmbedder embedder, WorkItem[] items)
    {
        var spec = embedder.Manifest.Preprocess;
        var length = embedder.Manifest.EmbeddingLength;
        var input = ArrayPool<float>.Shared.Rent(items.Length * spec.TensorLength);
        var output = ArrayPool<float>.Shared.Rent(items.Length * length);
        try
        {
            for (var i = 0; i < items.Length; i++)
            {
                items[i].Pixels.AsSpan(0, spec.TensorLength).CopyTo(input.AsSpan(i * spec.TensorLength, spec.TensorLength));
                items[i].ReleasePixels();
            }

            try
            {
                using var activity = IcdiffTelemetry.Source.StartActivity("icdiff.embed.batch");
                activity?.SetTag("icdiff.model", embedder.Manifest.Name);
                activity?.SetTag("icdiff.batch.size", items.Length);
                var started = Stopwatch.GetTimestamp();
                embedder.Embed(input, items.Length, output);
                IcdiffTelemetry.EmbedBatchDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                IcdiffTelemetry.Images.Add(items.Length, new KeyValuePair<string, object?>("stage", "embedded"));
            }
            catch (ObjectDisposedException)
            {
                // The host is stopping and its model is being released: these images were not processed, not failed.
                // Their pieces end cancelled, so nothing is recorded for them and a resumed run processes them again.
                foreach (var state in items.Select(w => w.State).Distinct())
                {
                    state.Cancel();
                }

                return;
            }
            catch (Exception ex)
            {
                Log.EmbeddingFailed(_logger, ex, embedder.Manifest.Name, items.Length);
                foreach (var w in items)
                {
                    w.State.Complete(w.Index, new ItemOutcome(w.Item, SkipReason.EmbeddingFailed, ex.Message, null, null));
                }

                return;
            }

            for (var i = 0; i < items.Length; i++)
            {
                var w = items[i];
                var embedding = output.AsSpan(i * length, length).ToArray();
                if (!EmbeddingMath.IsFinite(embedding))
                {
                    w.State.Complete(w.Index, new ItemOutcome(w.Item, SkipReason.EmbeddingFailed, "model produced NaN or infinite values", null, null));
                }
                else if (w.State.Batch.Search is null)
                {
                    w.State.Complete(w.Index, new ItemOutcome(w.Item, SkipReason.None, null, embedding, null) { ContentId = w.ContentId });
                }
                else
                {
                    w.Embedding = embedding;
                    await _searchQueue.Writer.WriteAsync(w, _stopping.Token);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
            ArrayPool<float>.Shared.Return(output);
        }
    }

    private async Task SearchLoopAsync()
    {
        var pending = new List<WorkItem>(SearchBatchSize);
        while (await TakeMicroBatchAsync(_searchQueue.Reader, pending, SearchBatchSize))
        {
            foreach (var group in pending.GroupBy(w => w.State.Batch.Search!))
            {
                await SearchGroupAsync(group.Key, [.. group]);
            }

            pending.Clear();
        }
    }

    private async Task SearchGroupAsync(SearchTarget target, WorkItem[] items)
    {
        var index = target.Index;
        var rule = target.Rule;
        if (index.Count == 0)
        {
            foreach (var w in items)
            {
                w.State.Complete(w.Index, new ItemOutcome(w.Item, SkipReason.None, null, null, new MatchResult(null, ReplicationLevels.None, 0, 0)));
            }

            return;
        }

        var length = index.EmbeddingLength;
        var dim = length / rule.Tokens;
        var k = target.Candidates;
        var proxies = new float[items.Length * dim];
        for (var i = 0; i < items.Length; i++)
        {
            EmbeddingMath.Proxy(items[i].Embedding, rule.Tokens, proxies.AsSpan(i * dim, dim));
        }

        IcdiffTelemetry.Images.Add(items.Length, new KeyValuePair<string, object?>("stage", "searched"));
        GalleryCandidate[][] candidates;
        try
        {
            candidates = await index.FindCandidatesAsync(proxies, items.Length, k, _stopping.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // An index that cannot answer (a partition's silo lost and not yet back, say) fails these items' batches,
            // which the caller retries as a whole; the pipeline itself goes on.
            foreach (var w in items)
            {
                w.State.Fail(ex);
            }

            return;
        }

        var scores = new PairScore[k];
        var keys = new string[k];
        for (var i = 0; i < items.Length; i++)
        {
            var w = items[i];
            var row = candidates[i];
            for (var c = 0; c < row.Length; c++)
            {
                scores[c] = rule.Score(w.Embedding, row[c].Embedding.Span);
                keys[c] = row[c].Key;
            }

            if (row.Length == 0)
            {
                w.State.Complete(w.Index, new ItemOutcome(w.Item, SkipReason.None, null, null, new MatchResult(null, ReplicationLevels.None, 0, 0)));
                continue;
            }

            // Copies of one image score alike up to float noise; the tie rule, not the order they were indexed in, picks one.
            var best = GalleryRanking.PickBest(rule, scores.AsSpan(0, row.Length), keys.AsSpan(0, row.Length));
            var top = TopByProxy(row, keys.AsSpan(0, row.Length));
            var (chosen, other) = target.MatchRule == MatchRule.Top1 ? (top, best) : (best, top);
            var match = new MatchResult(keys[chosen], scores[chosen].Level, scores[chosen].Similarity, row[chosen].ProxyScore, keys[other], scores[other].Level) { GalleryStamp = row[chosen].Stamp };
            w.State.Complete(w.Index, new ItemOutcome(w.Item, SkipReason.None, null, null, match));
        }
    }

    /// <summary>
    /// The top-1 candidate: the highest exact proxy cosine, proxy cosines within <see cref="GalleryRanking.ScoreTolerance"/>
    /// being one tie won by the smallest gallery key (copies of one image are one match, whatever order they were indexed in).
    /// </summary>
    private static int TopByProxy(ReadOnlySpan<GalleryCandidate> row, ReadOnlySpan<string> keys)
    {
        var best = 0;
        for (var c = 1; c < row.Length; c++)
        {
            if (row[c].ProxyScore > row[best].ProxyScore)
            {
                best = c;
            }
        }

        var chosen = best;
        for (var c = 0; c < row.Length; c++)
        {
            if (c != best && row[best].ProxyScore - row[c].ProxyScore <= GalleryRanking.ScoreTolerance && string.CompareOrdinal(keys[c], keys[chosen]) < 0)
            {
                chosen = c;
            }
        }

        return chosen;
    }

    /// <summary>
    /// Waits for at least one item, then keeps taking until <paramref name="max"/> items or until the flush
    /// interval passes with the channel empty. Returns false when the channel is finished.
    /// </summary>
    private async Task<bool> TakeMicroBatchAsync(ChannelReader<WorkItem> reader, List<WorkItem> pending, int max)
    {
        if (!await reader.WaitToReadAsync(_stopping.Token))
        {
            return false;
        }

        using var flush = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        flush.CancelAfter(_options.FlushMilliseconds);
        try
        {
            do
            {
                while (pending.Count < max && reader.TryRead(out var work))
                {
                    if (work.State.IsCancelled)
                    {
                        work.ReleasePixels();
                        continue;
                    }

                    pending.Add(work);
                }
            }
            while (pending.Count < max && await reader.WaitToReadAsync(flush.Token));
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            // Flush interval elapsed: go with what we have.
        }

        return true;
    }

    private sealed class WorkItem(BatchState state, int index)
    {
        public BatchState State { get; } = state;

        public int Index { get; } = index;

        public CorpusItem Item => State.Batch.Items[Index];

        public float[]? Pixels { get; set; }

        public long? ContentId { get; set; }

        public float[] Embedding { get; set; } = [];

        public ArrayPool<float>? PixelPool { get; set; }

        public void ReleasePixels()
        {
            if (Pixels is { } pixels)
            {
                PixelPool!.Return(pixels);
                Pixels = null;
            }
        }
    }

    private sealed class BatchState(PipelineBatch batch, CancellationToken token)
    {
        private readonly ItemOutcome[] _outcomes = new ItemOutcome[batch.Items.Count];
        private readonly TaskCompletionSource<IReadOnlyList<ItemOutcome>> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = batch.Items.Count;

        public PipelineBatch Batch { get; } = batch;

        public CancellationToken Token { get; } = token;

        public bool IsCancelled => Token.IsCancellationRequested;

        public Task<IReadOnlyList<ItemOutcome>> Completion => _completion.Task;

        public void Complete(int index, ItemOutcome outcome)
        {
            if (outcome.Skipped)
            {
                IcdiffTelemetry.Skipped.Add(1, new KeyValuePair<string, object?>("reason", outcome.Skip.ToString()));
            }

            _outcomes[index] = outcome;
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _completion.TrySetResult(_outcomes);
            }
        }

        public void Cancel() => _completion.TrySetCanceled(Token);

        /// <summary>Fails the whole batch: its caller sees the error and retries the batch; nothing of it is recorded.</summary>
        public void Fail(Exception exception) => _completion.TrySetException(exception);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = PipelineEventIds.Started, Level = LogLevel.Information, Message = "Worker pipeline started: {DecodeWorkers} decode workers, {InferenceLoops} inference loops ({How}), inference batches of {BatchSize}, channel capacity {Capacity}")]
        public static partial void Started(ILogger logger, int decodeWorkers, int inferenceLoops, string how, int batchSize, int capacity);

        [LoggerMessage(EventId = PipelineEventIds.InferenceLayout, Level = LogLevel.Information, Message = "Model {Model}: up to {Width} inference batches at once ({How})")]
        public static partial void InferenceLayout(ILogger logger, string model, int width, string how);

        [LoggerMessage(EventId = PipelineEventIds.EmbeddingFailed, Level = LogLevel.Error, Message = "Model {Model} failed on a batch of {Count} images; they are recorded as skipped")]
        public static partial void EmbeddingFailed(ILogger logger, Exception exception, string model, int count);

        [LoggerMessage(EventId = PipelineEventIds.ReadTimedOut, Level = LogLevel.Warning, Message = "Reading {Key} took longer than {Seconds} s; skipped as TimedOut")]
        public static partial void ReadTimedOut(ILogger logger, string key, double seconds);

        [LoggerMessage(EventId = PipelineEventIds.DecodeTimedOut, Level = LogLevel.Warning, Message = "Decoding {Key} took longer than {Seconds} s; skipped as TimedOut")]
        public static partial void DecodeTimedOut(ILogger logger, string key, double seconds);
    }
}
