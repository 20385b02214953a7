using Icdiff.Core;

namespace Icdiff.Index.Contract.Tests;

/// <summary>
/// What every <see cref="ICandidateIndex"/> must do, run against each implementation: the embedded index always,
/// Milvus when MILVUS_URI names a server. Approximate indexes are held to the nearest neighbour of well-separated
/// vectors and to recall against exact search, not to exact ties.
/// </summary>
public abstract class CandidateIndexContract
{
    protected const int Dim = 32;

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A fresh, empty index; null with a reason when the implementation's server is not available.</summary>
    protected abstract Task<(ICandidateIndex? Index, string? SkipReason)> CreateAsync();

    private async Task<ICandidateIndex> ReadyAsync()
    {
        var (index, reason) = await CreateAsync();
        Assert.SkipWhen(index is null, reason ?? "no index");
        await index!.EnsureReadyAsync(Dim, Token);
        return index;
    }

    protected static float[] RandomUnit(Random random, int dim = Dim)
    {
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            v[i] = (float)((random.NextDouble() * 2) - 1);
        }

        EmbeddingMath.NormaliseTokens(v, 1);
        return v;
    }

    private static List<GalleryVector> Gallery(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => new GalleryVector(1_000 + (i * 7919L), $"az://acct/gallery/img-{i}.png", RandomUnit(random)))];
    }

    [Fact]
    public async Task Upsert_ThenCount_AndAgainWithTheSameIds_LeavesOneEntryEach()
    {
        var index = await ReadyAsync();
        var gallery = Gallery(50, 1);

        await index.UpsertAsync(gallery, Token);
        await index.UpsertAsync(gallery.Take(20).ToList(), Token);

        Assert.Equal(50, await index.CountAsync(Token));
    }

    [Fact]
    public async Task Search_FindsEachGalleryVectorAsItsOwnNearestNeighbour_WithCosineScores()
    {
        var index = await ReadyAsync();
        var gallery = Gallery(200, 2);
        await index.UpsertAsync(gallery, Token);

        var hits = await index.SearchAsync([.. gallery.Select(g => g.Proxy)], 5, Token);

        Assert.Equal(gallery.Count, hits.Count);
        for (var i = 0; i < gallery.Count; i++)
        {
            Assert.Equal(5, hits[i].Count);
            Assert.Equal(gallery[i].Id, hits[i][0].Id);
            Assert.InRange(hits[i][0].Score, 0.999f, 1.001f);
            Assert.True(hits[i].Zip(hits[i].Skip(1)).All(p => p.First.Score >= p.Second.Score), "hits must be best first");
        }
    }

    [Fact]
    public async Task Search_AgreesWithBruteForce_OnRandomQueries()
    {
        var index = await ReadyAsync();
        var gallery = Gallery(500, 3);
        await index.UpsertAsync(gallery, Token);
        var random = new Random(4);
        var queries = Enumerable.Range(0, 40).Select(_ => RandomUnit(random)).ToList();
        const int k = 10;

        var hits = await index.SearchAsync(queries, k, Token);

        var agreed = 0;
        for (var q = 0; q < queries.Count; q++)
        {
            var exact = gallery.OrderByDescending(g => Dot(g.Proxy, queries[q])).Take(k).Select(g => g.Id).ToHashSet();
            agreed += hits[q].Count(h => exact.Contains(h.Id));
        }

        var recall = agreed / (double)(queries.Count * k);
        Assert.True(recall >= MinimumRecall, $"recall@{k} against brute force {recall:0.000} < {MinimumRecall}");
    }

    [Fact]
    public async Task Missing_ListsOnlyIdsNotHeld_SoAnIncrementalBuildInsertsOnlyNewImages()
    {
        var index = await ReadyAsync();
        var gallery = Gallery(30, 5);
        await index.UpsertAsync(gallery.Take(20).ToList(), Token);

        var missing = await index.MissingAsync([.. gallery.Select(g => g.Id)], Token);

        Assert.Equal(gallery.Skip(20).Select(g => g.Id), missing);
    }

    [Fact]
    public async Task Delete_RemovesEntriesFromCountAndSearch()
    {
        var index = await ReadyAsync();
        var gallery = Gallery(40, 6);
        await index.UpsertAsync(gallery, Token);

        await index.DeleteAsync([gallery[0].Id, gallery[1].Id], Token);

        Assert.Equal(38, await index.CountAsync(Token));
        var hits = await index.SearchAsync([gallery[0].Proxy], 3, Token);
        Assert.DoesNotContain(hits[0], h => h.Id == gallery[0].Id || h.Id == gallery[1].Id);
    }

    [Fact]
    public async Task Upsert_RejectsIdsAtOrAbove2To53()
    {
        var index = await ReadyAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => index.UpsertAsync([new GalleryVector(GalleryIds.Limit, "x", RandomUnit(new Random(7)))], Token));
    }

    /// <summary>1.0 for exact indexes; approximate ones say what they guarantee.</summary>
    protected virtual double MinimumRecall => 1.0;

    private static float Dot(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);
}
