using Icdiff.Core;
using Microsoft.Extensions.Logging;

namespace Icdiff.Grains;

/// <summary>
/// Combines the shard results of one model in one run; idempotent per shard index. Each shard is stored before it
/// is acknowledged, so results survive the loss of this activation's silo and a restart of the whole cluster.
/// </summary>
internal sealed partial class ModelAggregateGrain(IRunStore store, ILogger<ModelAggregateGrain> logger) : Grain, IModelAggregateGrain
{
    private readonly SortedDictionary<int, ShardResult> _shards = [];

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var shard in await store.LoadShardsAsync(this.GetPrimaryKeyString()))
        {
            _shards.TryAdd(shard.ShardIndex, shard);
        }
    }

    public async Task<bool> ReportAsync(ShardResult result)
    {
        if (_shards.ContainsKey(result.ShardIndex))
        {
            Log.DuplicateShard(logger, this.GetPrimaryKeyString(), result.ShardIndex);
            return false;
        }

        await store.SaveShardAsync(this.GetPrimaryKeyString(), result);
        _shards.Add(result.ShardIndex, result);
        return true;
    }

    public Task<IReadOnlyList<int>> GetShardIndicesAsync() => Task.FromResult<IReadOnlyList<int>>([.. _shards.Keys]);

    public Task<ModelSummary> GetSummaryAsync(int minLevel)
    {
        var histogram = new int[ReplicationLevels.Count];
        var skips = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var scanned = 0;
        var replicas = 0;
        var skipped = 0;
        string? model = null;
        foreach (var shard in _shards.Values)
        {
            model ??= shard.Model;
            foreach (var match in shard.Matches)
            {
                scanned++;
                histogram[match.Level]++;
                if (match.Level >= minLevel)
                {
                    replicas++;
                }
            }

            foreach (var skip in shard.Skipped)
            {
                skipped++;
                skips[skip.Reason] = skips.GetValueOrDefault(skip.Reason) + 1;
            }
        }

        var interval = WilsonInterval.Compute(replicas, scanned);
        var ratio = scanned == 0 ? 0 : replicas / (double)scanned;
        var name = model ?? this.GetPrimaryKeyString().Split('/', 2)[^1];
        return Task.FromResult(new ModelSummary(name, scanned, replicas, skipped, ratio, interval.Lower, interval.Upper, histogram, skips, _shards.Count));
    }

    public Task<IReadOnlyList<MatchRecord>> GetMatchesAsync(int skip, int take) =>
        Task.FromResult<IReadOnlyList<MatchRecord>>([.. _shards.Values.SelectMany(s => s.Matches).Skip(skip).Take(take)]);

    public Task<IReadOnlyList<SkipRecord>> GetSkipsAsync(int skip, int take) =>
        Task.FromResult<IReadOnlyList<SkipRecord>>([.. _shards.Values.SelectMany(s => s.Skipped).Skip(skip).Take(take)]);

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.DuplicateShard, Level = LogLevel.Information, Message = "{Aggregate}: shard {Shard} was reported again and is counted once")]
        public static partial void DuplicateShard(ILogger logger, string aggregate, int shard);
    }
}
