namespace Icdiff.Grains;

/// <summary>
/// The results of one model in one run, keyed "{runId}/{model}" (<see cref="ModelAggregateKey"/>). Results are kept
/// per item: a delivery stored twice, or an item delivered twice (a retried shard), is counted once; a later
/// outcome replaces an earlier skip (a failed item that succeeded on retry), never a match.
/// </summary>
public interface IModelAggregateGrain : IGrainWithStringKey
{
    /// <summary>Records a delivery (stored before it returns); returns the number of items recorded for the model so far.</summary>
    Task<int> ReportAsync(ShardResult result);

    Task<ModelSummary> GetSummaryAsync(int minLevel);

    /// <summary>Keys of the items recorded so far (only those with a match when <paramref name="matchedOnly"/>); a resumed run dispatches only the others.</summary>
    Task<IReadOnlyList<string>> GetRecordedKeysAsync(bool matchedOnly);

    Task<IReadOnlyList<MatchRecord>> GetMatchesAsync(int skip, int take);

    Task<IReadOnlyList<SkipRecord>> GetSkipsAsync(int skip, int take);

    /// <summary>Writes everything recorded back to the run store if the store lost its data since this grain last wrote (a Redis restarted empty).</summary>
    Task EnsureStoredAsync();
}

/// <summary>The key of a model's aggregate grain within a run.</summary>
public static class ModelAggregateKey
{
    public static string For(string runId, string model) => $"{runId}/{model}";
}

/// <summary>Reads a model's whole result list page by page, so no single grain response grows with the corpus.</summary>
public static class ModelAggregateReading
{
    private const int PageSize = 5000;

    public static Task<List<MatchRecord>> GetAllMatchesAsync(this IModelAggregateGrain aggregate) => AllAsync(aggregate.GetMatchesAsync);

    public static Task<List<SkipRecord>> GetAllSkipsAsync(this IModelAggregateGrain aggregate) => AllAsync(aggregate.GetSkipsAsync);

    private static async Task<List<T>> AllAsync<T>(Func<int, int, Task<IReadOnlyList<T>>> fetch)
    {
        var all = new List<T>();
        while (true)
        {
            var page = await fetch(all.Count, PageSize);
            all.AddRange(page);
            if (page.Count < PageSize)
            {
                return all;
            }
        }
    }
}
