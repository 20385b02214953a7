namespace Icdiff.Grains;

/// <summary>
/// Hands batches to the worker pipeline of the silo it runs on. Stateless: the runtime adds activations on a
/// silo as calls queue up, and each call only awaits the pipeline, so no CPU work happens in a grain turn.
/// </summary>
public interface IWorkerGrain : IGrainWithIntegerKey
{
    Task<GalleryBatchResult> EmbedGalleryAsync(GalleryBatch batch);

    /// <summary>Scans a shard and records its items with the model's aggregate in checkpoints of a few items each.</summary>
    Task<ShardScanReport> ScanAsync(ScanShard shard);
}
