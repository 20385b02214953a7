using Icdiff.Core;
using Icdiff.Pipeline;

namespace Icdiff.Grains;

/// <summary>
/// Feeds the silo's pipeline. Keyed by dispatch slot: a run addresses as many keys as it keeps shards in
/// flight, so activations spread over the cluster's silos while each one handles one batch at a time.
/// </summary>
internal sealed class WorkerGrain(ImagePipeline pipeline, IEmbedderProvider embedders, CorpusSourceResolver corpora, GalleryIndexCache galleries) : Grain, IWorkerGrain
{
    public async Task<GalleryBatchResult> EmbedGalleryAsync(GalleryBatch batch)
    {
        var source = corpora.Open(batch.GalleryLocation);
        var embedder = embedders.Get(batch.ModelManifest);
        var items = batch.Items.Select(i => i.ToCore()).ToArray();
        var outcomes = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), CancellationToken.None);
        var (embedded, skipped) = Split(outcomes, o => new GalleryEmbedding(o.Item.ToWire(), o.Embedding!));
        return new GalleryBatchResult(embedded, skipped);
    }

    public async Task<ShardResult> ScanAsync(ScanShard shard)
    {
        var source = corpora.Open(shard.Location);
        var embedder = embedders.Get(shard.ModelManifest);
        var index = galleries.Get(shard.Gallery);
        var items = shard.Items.Select(i => i.ToCore()).ToArray();
        var target = new SearchTarget(index, embedder.Manifest.Scoring, shard.Candidates);
        var outcomes = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, target), CancellationToken.None);
        var (matches, skipped) = Split(outcomes, o => new MatchRecord(o.Item.Key, o.Match!.GalleryKey, o.Match.Level, o.Match.Similarity));
        return new ShardResult(shard.Model, shard.ShardIndex, matches, skipped);
    }

    /// <summary>Skipped items become skip records; the rest go through <paramref name="select"/>.</summary>
    private static (List<T> Done, List<SkipRecord> Skipped) Split<T>(IReadOnlyList<ItemOutcome> outcomes, Func<ItemOutcome, T> select)
    {
        var done = new List<T>(outcomes.Count);
        var skipped = new List<SkipRecord>();
        foreach (var outcome in outcomes)
        {
            if (outcome.Skipped)
            {
                skipped.Add(outcome.ToSkip());
            }
            else
            {
                done.Add(select(outcome));
            }
        }

        return (done, skipped);
    }
}
