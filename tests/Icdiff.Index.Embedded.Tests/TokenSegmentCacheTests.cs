namespace Icdiff.Index.Embedded.Tests;

/// <summary>
/// The token cache against real segment files: what it returns, what it keeps (hits are told apart from reads by
/// rewriting the file under it: a kept embedding comes back as it was), its bound and its least-recently-used order.
/// </summary>
public sealed class TokenSegmentCacheTests : IDisposable
{
    private const int Length = 48;

    private readonly string _folder = Directory.CreateTempSubdirectory("icdiff-token-cache-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Reads_ReturnTheStoredEmbedding_AsTheCallersOwnCopy()
    {
        var locators = Write(generation: 1, count: 3);
        using var cache = new TokenSegmentCache(1 << 20);

        var first = cache.Read(_folder, locators[1], Length);
        Assert.Equal(Embedding(1, 1), first);
        first[0] = 1e9f; // a caller scribbling on its copy must not reach the cache
        var again = cache.Read(_folder, locators[1], Length);
        Assert.Equal(Embedding(1, 1), again);
        Assert.NotSame(first, again);
    }

    [Fact]
    public void Holds_AtMostItsBound_EvictingTheLeastRecentlyUsed()
    {
        var locators = Write(generation: 1, count: 4);
        using var cache = new TokenSegmentCache(3 * Length * sizeof(float));
        foreach (var i in new[] { 0, 1, 2, 0, 3 })
        {
            cache.Read(_folder, locators[i], Length);
        }

        Assert.Equal(3 * Length * sizeof(float), cache.HeldBytes);

        // The file changes under the cache: kept entries (0, 2, 3) come back as first read, the evicted one (1, least
        // recently used when 3 came) is read again and shows the new content.
        Write(generation: 2, count: 4);
        Assert.Equal(Embedding(1, 0), cache.Read(_folder, locators[0], Length));
        Assert.Equal(Embedding(1, 2), cache.Read(_folder, locators[2], Length));
        Assert.Equal(Embedding(1, 3), cache.Read(_folder, locators[3], Length));
        Assert.Equal(Embedding(2, 1), cache.Read(_folder, locators[1], Length));
        Assert.Equal(3 * Length * sizeof(float), cache.HeldBytes);
    }

    [Fact]
    public void ABoundOfZero_KeepsNothing()
    {
        var locators = Write(generation: 1, count: 2);
        using var cache = new TokenSegmentCache(0);
        Assert.Equal(Embedding(1, 0), cache.Read(_folder, locators[0], Length));
        Write(generation: 2, count: 2);
        Assert.Equal(Embedding(2, 0), cache.Read(_folder, locators[0], Length));
        Assert.Equal(0, cache.HeldBytes);
    }

    [Fact]
    public void AShortSegment_IsReportedAsADamagedIndex()
    {
        var locators = Write(generation: 1, count: 2);
        using var cache = new TokenSegmentCache(1 << 20);
        var error = Assert.Throws<InvalidDataException>(() => cache.Read(_folder, locators[1] + 5, Length));
        Assert.Contains("index the gallery again", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ManyThreads_ReadingThroughASmallCache_AlwaysGetTheRightEmbedding()
    {
        var locators = Write(generation: 1, count: 64);
        using var cache = new TokenSegmentCache(8 * Length * sizeof(float));
        Parallel.For(0, 4_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, n =>
        {
            var i = (n * 7) % 64;
            Assert.Equal(Embedding(1, i), cache.Read(_folder, locators[i], Length));
        });
        Assert.Equal(8 * Length * sizeof(float), cache.HeldBytes);
    }

    private static float[] Embedding(int generation, int index) =>
        [.. Enumerable.Range(0, Length).Select(j => (generation * 1000f) + (index * 10f) + (j / 100f))];

    /// <summary>
    /// Generation 1 writes <paramref name="count"/> embeddings through the segment writer; a later generation rewrites
    /// the same file in place (same inode, so a handle the cache holds sees it). Returns the locators.
    /// </summary>
    private long[] Write(int generation, int count)
    {
        if (generation == 1)
        {
            using var writer = new TokenSegmentWriter(_folder);
            var locators = Enumerable.Range(0, count).Select(i => writer.Append(Embedding(generation, i))).ToArray();
            writer.FlushAsync().GetAwaiter().GetResult();
            return locators;
        }

        var file = Assert.Single(Directory.GetFiles(_folder, "tokens-*.seg"));
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            for (var i = 0; i < count; i++)
            {
                stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Embedding(generation, i).AsSpan()));
            }
        }

        return [];
    }
}
