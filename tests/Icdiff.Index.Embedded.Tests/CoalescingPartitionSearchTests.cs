namespace Icdiff.Index.Embedded.Tests;

public sealed class CoalescingPartitionSearchTests
{
    private const int Dim = 48;

    /// <summary>
    /// Requests that arrive while a scan runs are scanned together; each one's answer must be exactly what it gets
    /// searched alone (same ordinals, same float16 scores, same order), whatever it was scanned with.
    /// </summary>
    [Fact]
    public async Task ConcurrentRequests_ShareScans_AndEachGetsItsOwnAnswer()
    {
        var random = new Random(5);
        var partition = Gallery(random, 30_000);
        var requests = Enumerable.Range(0, 6).Select(r => Queries(random, 3 + r)).ToArray();
        var alone = requests.Select(q => partition.SearchCandidates(q, k: 16, limit: 64)).ToArray();
        var search = new CoalescingPartitionSearch();

        var shared = await Task.WhenAll(requests.Select(q => search.SearchAsync(partition, q, k: 16, limit: 64)));

        for (var r = 0; r < requests.Length; r++)
        {
            Assert.Equal(requests[r].Length, shared[r].Length);
            for (var q = 0; q < requests[r].Length; q++)
            {
                Assert.Equal(alone[r][q], shared[r][q]);
            }
        }

        var (scans, served) = search.Served;
        Assert.Equal(6, served);
        // Queued while the first scan ran (a 30,000-entry scan takes milliseconds; queuing six takes microseconds).
        Assert.InRange(scans, 1, 5);
    }

    [Fact]
    public async Task RequestsWithOtherBounds_AreNotMerged()
    {
        var random = new Random(6);
        var partition = Gallery(random, 20_000);
        var queries = Queries(random, 4);
        var coalescer = new CoalescingPartitionSearch();

        var answers = await Task.WhenAll(
            search(8, 8), search(32, 32), search(8, 64));

        Assert.Equal(partition.SearchCandidates(queries, 8, 8), answers[0]);
        Assert.Equal(partition.SearchCandidates(queries, 32, 32), answers[1]);
        Assert.Equal(partition.SearchCandidates(queries, 8, 64), answers[2]);
        Assert.All(answers[0], row => Assert.True(row.Length <= 8));
        Assert.All(answers[1], row => Assert.True(row.Length >= 32));

        Task<ApproximateCandidate[][]> search(int k, int limit) => coalescer.SearchAsync(partition, queries, k, limit);
    }

    [Fact]
    public async Task ABadRequest_FailsAlone_BeforeItIsQueued()
    {
        var random = new Random(7);
        var partition = Gallery(random, 10_000);
        var search = new CoalescingPartitionSearch();
        var good = search.SearchAsync(partition, Queries(random, 2), 4, 4);

        var error = Assert.Throws<ArgumentException>(() => { _ = search.SearchAsync(partition, [new float[Dim - 1]], 4, 4); });
        Assert.Contains($"this partition holds {Dim}", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = search.SearchAsync(partition, Queries(random, 1), 4, 2); });

        Assert.Equal(2, (await good).Length);
        Assert.Equal(1, search.Served.Requests);
    }

    private static HalfProxyPartition Gallery(Random random, int entries)
    {
        var partition = new HalfProxyPartition(Dim);
        for (var i = 0; i < entries; i++)
        {
            partition.Add($"img{i:D6}", "s", TestVectors.RandomUnit(random, Dim), i);
        }

        return partition;
    }

    private static ReadOnlyMemory<float>[] Queries(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => (ReadOnlyMemory<float>)TestVectors.RandomUnit(random, Dim))];
}
