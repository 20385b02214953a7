namespace Icdiff.Grains;

/// <summary>A generated-image corpus of one model.</summary>
[GenerateSerializer, Immutable]
public sealed record ModelCorpus([property: Id(0)] string Model, [property: Id(1)] string Location);

/// <summary>
/// Everything a run needs; fixed when the run starts. <see cref="Schedule"/> names the schedule that started it.
/// <see cref="CorpusIdentities"/> maps each local corpus location (absolute) to the identity of the folder found there
/// when the run started, so a resume can tell the same corpus from another one put in its place.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record AuditRequest(
    [property: Id(0)] string GalleryLocation,
    [property: Id(1)] IReadOnlyList<ModelCorpus> Generated,
    [property: Id(2)] string ModelManifest,
    [property: Id(3)] int MinLevel,
    [property: Id(4)] int Candidates,
    [property: Id(5)] int ShardSize,
    [property: Id(6)] string? Schedule = null,
    [property: Id(7)] IReadOnlyDictionary<string, string>? CorpusIdentities = null,
    [property: Id(8)] string? MatchRule = null,
    [property: Id(9)] string? Control = null)
{
    /// <summary>The model name under which the control corpus (<see cref="Control"/>) is scanned beside the models.</summary>
    public const string ControlModel = "_control";

    /// <summary>The match rule of this run; unset means the default, top1.</summary>
    public string EffectiveMatchRule => MatchRule ?? "top1";

    /// <summary>Set for runs started by a schedule: only images its earlier runs did not record are processed.</summary>
    public bool IsScheduled => Schedule is not null;
}

/// <summary>An image on the wire: the corpus key, where to read it and its change stamp.</summary>
[GenerateSerializer, Immutable]
public sealed record ImageRef([property: Id(0)] string Key, [property: Id(1)] string Uri, [property: Id(2)] long Length, [property: Id(3)] string Stamp);

[GenerateSerializer, Immutable]
public sealed record SkipRecord([property: Id(0)] string Key, [property: Id(1)] string Reason, [property: Id(2)] string? Detail);

/// <summary>
/// The gallery match of one generated image under the run's match rule, with the stamps both images had when they were
/// read (the dashboard serves only that content), and the level (and gallery key) the other rule gives
/// (<see cref="AltLevel"/> -1 where the run did not record it), so both ratios come from one scan.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record MatchRecord(
    [property: Id(0)] string Key,
    [property: Id(1)] string? GalleryKey,
    [property: Id(2)] int Level,
    [property: Id(3)] float Similarity,
    [property: Id(4)] string? Stamp = null,
    [property: Id(5)] string? GalleryStamp = null,
    [property: Id(6)] string? AltGalleryKey = null,
    [property: Id(7)] int AltLevel = -1);

[GenerateSerializer, Immutable]
public sealed record GalleryEmbedding([property: Id(0)] ImageRef Image, [property: Id(1)] float[] Embedding);

[GenerateSerializer, Immutable]
public sealed record GalleryBatch([property: Id(0)] string GalleryLocation, [property: Id(1)] string ModelManifest, [property: Id(2)] IReadOnlyList<ImageRef> Items);

[GenerateSerializer, Immutable]
public sealed record GalleryBatchResult([property: Id(0)] IReadOnlyList<GalleryEmbedding> Embedded, [property: Id(1)] IReadOnlyList<SkipRecord> Skipped, [property: Id(2)] string Silo = "");

/// <summary>
/// A sealed, persisted gallery index that workers search; each pass writes new files, so the paths identify it. For the
/// embedded backend <see cref="Path"/> is the index file workers load; for the sharded one it is the router's key and
/// <see cref="Partitions"/> lists each partition's snapshot file, partition i at position i.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record GallerySnapshot(
    [property: Id(0)] string Path,
    [property: Id(1)] int Count,
    [property: Id(2)] string Fingerprint,
    [property: Id(3)] string Backend = GalleryBackends.Embedded,
    [property: Id(4)] IReadOnlyList<string>? Partitions = null);

/// <summary>The gallery index backends (<c>Icdiff:Index:Kind</c>).</summary>
public static class GalleryBackends
{
    /// <summary>One index file, loaded whole by every worker silo.</summary>
    public const string Embedded = "embedded";

    /// <summary>Float16 proxies partitioned over the worker silos, full embeddings in token segment files.</summary>
    public const string Sharded = "sharded";

    /// <summary>Proxies in a Milvus collection, full embeddings in token segment files under the shared data directory.</summary>
    public const string Milvus = "milvus";
}

/// <summary>One shard of a model's corpus to scan: a fixed slice of its listing.</summary>
[GenerateSerializer, Immutable]
public sealed record ScanShard(
    [property: Id(0)] string RunId,
    [property: Id(1)] string Model,
    [property: Id(2)] int ShardIndex,
    [property: Id(3)] string Location,
    [property: Id(4)] string ModelManifest,
    [property: Id(5)] GallerySnapshot Gallery,
    [property: Id(6)] int Candidates,
    [property: Id(7)] IReadOnlyList<ImageRef> Items,
    [property: Id(8)] string MatchRule = "top1");

/// <summary>
/// Outcomes of some items of one shard, recorded together: a checkpoint. A worker delivers a shard in pieces of
/// a few items as they finish. <see cref="DeliveryId"/> names this delivery, so the same delivery stored twice is
/// one delivery, and an item delivered by two deliveries (a retried shard) is counted once.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ShardResult(
    [property: Id(0)] string Model,
    [property: Id(1)] int ShardIndex,
    [property: Id(2)] IReadOnlyList<MatchRecord> Matches,
    [property: Id(3)] IReadOnlyList<SkipRecord> Skipped,
    [property: Id(4)] string DeliveryId = "",
    [property: Id(5)] DateTimeOffset RecordedAt = default)
{
    /// <summary>The storage name of this delivery: its id, or the shard index for a delivery of a whole shard.</summary>
    public string EffectiveDeliveryId => DeliveryId.Length > 0 ? DeliveryId : ShardIndex.ToString("D7", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What a worker reports back for a scanned shard: items handled, the model's recorded total after its last checkpoint, and the silo that did it.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardScanReport(
    [property: Id(0)] int Items,
    [property: Id(1)] int RecordedTotal,
    [property: Id(2)] string Silo = "");

/// <summary>Per-model figures: counts, the ratio with its Wilson interval, the level histogram and skips by reason.</summary>
[GenerateSerializer, Immutable]
public sealed record ModelSummary(
    [property: Id(0)] string Model,
    [property: Id(1)] int Scanned,
    [property: Id(2)] int Replicas,
    [property: Id(3)] int Skipped,
    [property: Id(4)] double Ratio,
    [property: Id(5)] double Lower,
    [property: Id(6)] double Upper,
    [property: Id(7)] int[] LevelHistogram,
    [property: Id(8)] IReadOnlyDictionary<string, int> SkipsByReason,
    [property: Id(9)] int Shards,
    [property: Id(10)] int AltReplicas = 0,
    [property: Id(11)] double AltRatio = 0,
    [property: Id(12)] double AltLower = 0,
    [property: Id(13)] double AltUpper = 0,
    [property: Id(14)] bool AltRecorded = false)
{
    /// <summary>Share of scanned images whose match reaches each level 1..5 (index 0 = level >= 1), under the run's rule.</summary>
    public double[] CumulativeRatios()
    {
        var ratios = new double[LevelHistogram.Length - 1];
        var atLeast = 0;
        for (var level = LevelHistogram.Length - 1; level >= 1; level--)
        {
            atLeast += LevelHistogram[level];
            ratios[level - 1] = Scanned == 0 ? 0 : atLeast / (double)Scanned;
        }

        return ratios;
    }
}

public enum RunState
{
    Pending,
    IndexingGallery,
    Scanning,
    Completed,
    Failed,
    Cancelled,
}

[GenerateSerializer, Immutable]
public sealed record ModelProgress([property: Id(0)] string Model, [property: Id(1)] int Listed, [property: Id(2)] int Done, [property: Id(3)] bool ListingComplete);

/// <summary>What one worker silo did for this activation of a run: gallery images embedded, generated images scanned, batches.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerShare([property: Id(0)] string Silo, [property: Id(1)] int GalleryItems, [property: Id(2)] int ScannedItems, [property: Id(3)] int Batches);

[GenerateSerializer, Immutable]
public sealed record RunStatus(
    [property: Id(0)] string RunId,
    [property: Id(1)] RunState State,
    [property: Id(2)] string? Error,
    [property: Id(3)] int GalleryListed,
    [property: Id(4)] int GalleryDone,
    [property: Id(5)] int GalleryEmbedded,
    [property: Id(6)] bool GalleryListingComplete,
    [property: Id(7)] IReadOnlyList<ModelProgress> Models,
    [property: Id(8)] IReadOnlyList<SkipRecord> GallerySkipped,
    [property: Id(9)] DateTimeOffset? StartedAt,
    [property: Id(10)] DateTimeOffset? FinishedAt,
    [property: Id(11)] string? ModelName,
    [property: Id(12)] string? ScoringRule,
    [property: Id(13)] IReadOnlyList<WorkerShare>? Workers = null,
    [property: Id(14)] IReadOnlyList<int>? GradedLevels = null,
    [property: Id(15)] string? GalleryIndex = null,
    [property: Id(16)] long Revision = 0)
{
    public bool IsFinished => State is RunState.Completed or RunState.Failed or RunState.Cancelled;
}
