namespace Icdiff.Grains;

/// <summary>
/// The results of one model in one run, keyed "{runId}/{model}". Shard results are keyed by shard index, so a
/// shard reported twice (a retried call) is counted once.
/// </summary>
public interface IModelAggregateGrain : IGrainWithStringKey
{
    /// <summary>Records a shard; returns false when that shard was already recorded.</summary>
    Task<bool> ReportAsync(ShardResult result);

    Task<ModelSummary> GetSummaryAsync(int minLevel);

    /// <summary>The shards recorded so far; a resumed run dispatches only the others.</summary>
    Task<IReadOnlyList<int>> GetShardIndicesAsync();

    Task<IReadOnlyList<MatchRecord>> GetMatchesAsync(int skip, int take);

    Task<IReadOnlyList<SkipRecord>> GetSkipsAsync(int skip, int take);
}
