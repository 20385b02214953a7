using Orleans.Concurrency;

namespace Icdiff.Grains;

/// <summary>
/// Hands batches to the worker pipeline of the silo it runs on. Keyed "{silo}#{slot}" (see WorkerSlotKey): the
/// dispatcher names the silo that should do each shard, and a silo's slots serialise the shards it takes at once.
/// Each call only awaits the pipeline, so no CPU work happens in a grain turn.
/// </summary>
public interface IWorkerGrain : IGrainWithStringKey
{
    Task<GalleryBatchResult> EmbedGalleryAsync(GalleryBatch batch);

    /// <summary>Scans a shard and records its items with the model's aggregate in checkpoints of a few items each.</summary>
    Task<ShardScanReport> ScanAsync(ScanShard shard);

    /// <summary>How many shards this worker's silo works on at once; answered between shards' turns.</summary>
    [AlwaysInterleave]
    Task<int> GetCapacityAsync();
}
