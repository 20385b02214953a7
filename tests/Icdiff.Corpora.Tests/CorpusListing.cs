using Icdiff.Core;

namespace Icdiff.Corpora.Tests;

/// <summary>Listings read whole, for the tests to compare.</summary>
internal static class CorpusListing
{
    /// <summary>Every item <paramref name="source"/> lists, in its order, under the running test's cancellation.</summary>
    public static async Task<List<CorpusItem>> ListAllAsync(this ICorpusSource source)
    {
        var items = new List<CorpusItem>();
        await foreach (var item in source.ListAsync(TestContext.Current.CancellationToken))
        {
            items.Add(item);
        }

        return items;
    }
}
