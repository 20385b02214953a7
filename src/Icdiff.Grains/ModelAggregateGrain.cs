using Icdiff.Core;
using Microsoft.Extensions.Logging;

namespace Icdiff.Grains;

/// <summary>
/// Combines the deliveries of one model in one run, item by item. Each delivery is stored before it is
/// acknowledged, so results survive the loss of this activation's silo and a restart of the whole cluster; on
/// activation the stored deliveries are replayed in the order they were recorded.
/// </summary>
[HostedOn(SiloRoles.Coordinator)]
internal sealed partial class ModelAggregateGrain(IRunStore store, ILogger<ModelAggregateGrain> logger) : Grain, IModelAggregateGrain
{
    private static readonly string[] LevelTags = ["0", "1", "2", "3", "4", "5"];
    private readonly Dictionary<string, ItemRecord> _items = new(StringComparer.Ordinal);
    private readonly HashSet<string> _deliveries = new(StringComparer.Ordinal);
    private readonly HashSet<int> _shards = [];
    private string? _model;
    private List<ItemRecord>? _ordered;
    private long _storeGeneration;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _storeGeneration = store.Generation;
        foreach (var delivery in (await store.LoadShardsAsync(this.GetPrimaryKeyString())).OrderBy(d => d.RecordedAt))
        {
            Apply(delivery, countInMetrics: false);
        }
    }

    public async Task<int> ReportAsync(ShardResult result)
    {
        if (_deliveries.Contains(result.EffectiveDeliveryId))
        {
            Log.DuplicateDelivery(logger, this.GetPrimaryKeyString(), result.ShardIndex, result.EffectiveDeliveryId);
            return _items.Count;
        }

        var stamped = result.RecordedAt == default ? result with { RecordedAt = DateTimeOffset.UtcNow } : result;
        await store.SaveShardAsync(this.GetPrimaryKeyString(), stamped);
        Apply(stamped, countInMetrics: true);
        if (store.Generation != _storeGeneration)
        {
            await RestoreStoredCopyAsync();
        }

        return _items.Count;
    }

    public async Task EnsureStoredAsync()
    {
        if (store.Generation != _storeGeneration)
        {
            await RestoreStoredCopyAsync();
        }
    }

    /// <summary>
    /// The store lost its data (a Redis restarted empty) while this run was held here: write back everything recorded,
    /// one delivery per shard, so a later activation (a coordinator restarted) finds the whole result again.
    /// </summary>
    private async Task RestoreStoredCopyAsync()
    {
        var generation = store.Generation;
        var model = _model ?? this.GetPrimaryKeyString().Split('/', 2)[^1];
        var now = DateTimeOffset.UtcNow;
        foreach (var shard in _items.Values.GroupBy(i => i.Shard))
        {
            var delivery = new ShardResult(
                model,
                shard.Key,
                [.. shard.Where(i => i.Match is not null).Select(i => i.Match!)],
                [.. shard.Where(i => i.Skip is not null).Select(i => i.Skip!)],
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"restored-{generation}-{shard.Key:D7}"),
                now);
            await store.SaveShardAsync(this.GetPrimaryKeyString(), delivery);
        }

        _storeGeneration = generation;
        Log.StoredCopyRestored(logger, this.GetPrimaryKeyString(), _items.Count);
    }

    public Task<IReadOnlyList<string>> GetRecordedKeysAsync(bool matchedOnly) =>
        Task.FromResult<IReadOnlyList<string>>([.. _items.Values.Where(i => !matchedOnly || i.Match is not null).Select(i => i.Key)]);

    public Task<ModelSummary> GetSummaryAsync(int minLevel)
    {
        var histogram = new int[ReplicationLevels.Count];
        var skips = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var scanned = 0;
        var replicas = 0;
        var altReplicas = 0;
        var altRecorded = 0;
        var skipped = 0;
        foreach (var item in _items.Values)
        {
            if (item.Match is { } match)
            {
                scanned++;
                histogram[match.Level]++;
                if (match.Level >= minLevel)
                {
                    replicas++;
                }

                if (match.AltLevel >= 0)
                {
                    altRecorded++;
                    if (match.AltLevel >= minLevel)
                    {
                        altReplicas++;
                    }
                }
            }
            else
            {
                skipped++;
                skips[item.Skip!.Reason] = skips.GetValueOrDefault(item.Skip.Reason) + 1;
            }
        }

        var interval = WilsonInterval.Compute(replicas, scanned);
        var ratio = scanned == 0 ? 0 : replicas / (double)scanned;
        var name = _model ?? this.GetPrimaryKeyString().Split('/', 2)[^1];
        // The other rule's figures only when every scanned image has its level (runs recorded before it was kept have none).
        var altWhole = scanned > 0 && altRecorded == scanned;
        var altInterval = WilsonInterval.Compute(altWhole ? altReplicas : 0, altWhole ? scanned : 0);
        return Task.FromResult(new ModelSummary(
            name, scanned, replicas, skipped, ratio, interval.Lower, interval.Upper, histogram, skips, _shards.Count,
            altWhole ? altReplicas : 0, altWhole ? altReplicas / (double)scanned : 0, altWhole ? altInterval.Lower : 0, altWhole ? altInterval.Upper : 0, altWhole));
    }

    public Task<IReadOnlyList<MatchRecord>> GetMatchesAsync(int skip, int take) =>
        Task.FromResult<IReadOnlyList<MatchRecord>>([.. Ordered().Where(i => i.Match is not null).Skip(skip).Take(take).Select(i => i.Match!)]);

    public Task<IReadOnlyList<SkipRecord>> GetSkipsAsync(int skip, int take) =>
        Task.FromResult<IReadOnlyList<SkipRecord>>([.. Ordered().Where(i => i.Skip is not null).Skip(skip).Take(take).Select(i => i.Skip!)]);

    /// <summary>Items in listing order (shard, then key), whatever order their deliveries came in; rebuilt only after a change.</summary>
    private List<ItemRecord> Ordered() => _ordered ??= [.. _items.Values.OrderBy(i => i.Shard).ThenBy(i => i.Key, StringComparer.Ordinal)];

    private void Apply(ShardResult delivery, bool countInMetrics)
    {
        _deliveries.Add(delivery.EffectiveDeliveryId);
        _shards.Add(delivery.ShardIndex);
        _model ??= delivery.Model;
        _ordered = null;
        foreach (var match in delivery.Matches)
        {
            // A match is final: a later delivery of the same item (a retried shard) computes the same match.
            if (!_items.TryGetValue(match.Key, out var existing) || existing.Match is null)
            {
                _items[match.Key] = new ItemRecord(match.Key, delivery.ShardIndex, match, null);
                if (countInMetrics)
                {
                    IcdiffTelemetry.Recorded.Add(1, new KeyValuePair<string, object?>("model", delivery.Model), new KeyValuePair<string, object?>("level", LevelTags[match.Level]));
                }
            }
        }

        foreach (var skip in delivery.Skipped)
        {
            // A skip never replaces a match; a later skip replaces an earlier one (the latest reason is the one to act on).
            if (!_items.TryGetValue(skip.Key, out var existing) || existing.Match is null)
            {
                if (countInMetrics && existing is null)
                {
                    IcdiffTelemetry.Recorded.Add(1, new KeyValuePair<string, object?>("model", delivery.Model), new KeyValuePair<string, object?>("level", "skipped"));
                }

                _items[skip.Key] = new ItemRecord(skip.Key, delivery.ShardIndex, null, skip);
            }
        }
    }

    private sealed record ItemRecord(string Key, int Shard, MatchRecord? Match, SkipRecord? Skip);

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.DuplicateShard, Level = LogLevel.Information, Message = "{Aggregate}: delivery {Delivery} of shard {Shard} was reported again and is counted once")]
        public static partial void DuplicateDelivery(ILogger logger, string aggregate, int shard, string delivery);

        [LoggerMessage(EventId = GrainEventIds.StoredCopyRestored, Level = LogLevel.Warning, Message = "{Aggregate}: the run store had lost its data; {Items} recorded items written back")]
        public static partial void StoredCopyRestored(ILogger logger, string aggregate, int items);
    }
}
