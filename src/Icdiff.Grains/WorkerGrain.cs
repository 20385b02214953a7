using System.Globalization;
using Icdiff.Core;
using Microsoft.Extensions.Options;
using Icdiff.Pipeline;

namespace Icdiff.Grains;

/// <summary>
/// Feeds the silo's pipeline. Keyed by silo and slot and placed on the silo its key names, so the dispatcher
/// decides where work goes; each activation handles one batch at a time.
/// </summary>
[WorkerSlotPlacement]
[HostedOn(SiloRoles.Worker)]
[GrainType(TypeName)]
internal sealed class WorkerGrain(
    ImagePipeline pipeline,
    IEmbedderProvider embedders,
    CorpusSourceResolver corpora,
    GalleryIndexBackends galleries,
    ILocalSiloDetails silo,
    IOptions<AuditSiloOptions> options) : Grain, IWorkerGrain
{
    public const string TypeName = "icdiff-worker";

    public static GrainType Type { get; } = GrainType.Create(TypeName);

    public Task<int> GetCapacityAsync() => Task.FromResult(options.Value.EffectiveShardsInFlight);

    public async Task<GalleryBatchResult> EmbedGalleryAsync(GalleryBatch batch)
    {
        using var activity = IcdiffTelemetry.Source.StartActivity("icdiff.gallery.embed");
        activity?.SetTag("icdiff.items", batch.Items.Count);
        var source = corpora.Open(batch.GalleryLocation);
        var embedder = await embedders.GetOffTurnAsync(batch.ModelManifest);
        var items = batch.Items.Select(i => i.ToCore()).ToArray();
        var outcomes = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, null), CancellationToken.None);
        var (embedded, skipped) = Split(outcomes, o => new GalleryEmbedding(o.Item.ToWire(), o.Embedding!));
        return new GalleryBatchResult(embedded, skipped, silo.SiloAddress.ToParsableString());
    }

    public async Task<ShardScanReport> ScanAsync(ScanShard shard)
    {
        using var activity = IcdiffTelemetry.Source.StartActivity("icdiff.shard.scan");
        activity?.SetTag("icdiff.run", shard.RunId);
        activity?.SetTag("icdiff.model", shard.Model);
        activity?.SetTag("icdiff.shard", shard.ShardIndex);
        activity?.SetTag("icdiff.items", shard.Items.Count);
        var source = corpora.Open(shard.Location);
        var embedder = await embedders.GetOffTurnAsync(shard.ModelManifest);
        var index = galleries.Open(shard.Gallery, embedder.Manifest);
        var target = new SearchTarget(index, embedder.Manifest.Scoring, shard.Candidates, shard.MatchRule);
        var aggregate = GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(shard.RunId, shard.Model));
        var attempt = Guid.NewGuid().ToString("N");

        // All pieces go to the pipeline at once (it stays fed as one batch would keep it), and each piece is recorded
        // as soon as it is done: a silo lost mid-shard costs only the pieces not yet recorded.
        var pieces = shard.Items.Chunk(options.Value.CheckpointItems).Select(async (piece, number) =>
        {
            var items = piece.Select(i => i.ToCore()).ToArray();
            var outcomes = await pipeline.ProcessAsync(new PipelineBatch(source, items, embedder, target), CancellationToken.None);
            var (matches, skipped) = Split(outcomes, o => o.ToMatch());
            var delivery = string.Create(CultureInfo.InvariantCulture, $"{shard.ShardIndex:D7}-{attempt}-{number:D5}");
            return await aggregate.ReportAsync(new ShardResult(shard.Model, shard.ShardIndex, matches, skipped, delivery));
        });
        var recorded = await Task.WhenAll(pieces);
        return new ShardScanReport(shard.Items.Count, recorded.Length == 0 ? 0 : recorded.Max(), silo.SiloAddress.ToParsableString());
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
