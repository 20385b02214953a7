using Icdiff.Core;

namespace Icdiff.Index.Embedded.Tests;

public sealed class HalfProxyPartitionTests
{
    /// <summary>
    /// A gallery split into float16 partitions and re-ranked exactly must give what one float32 index gives: the same
    /// keys in the same order with the same cosines to the bit, even where the float16 cosines cannot tell candidates
    /// apart (clusters of near-copies of a query, 1e-6 apart) and where the top-k is cut inside such a cluster.
    /// </summary>
    [Theory]
    [InlineData(48, 10, 3, 6_000, 21)]
    [InlineData(16, 64, 4, 20_000, 9)] // partitions past one storage block; k inside the clusters of 200
    [InlineData(13, 5, 1, 500, 4)] // not a multiple of the SIMD width, one partition
    public void PartitionsReRankedExactly_EqualOneFloat32Index(int dim, int k, int partitions, int gallery, int queries)
    {
        var random = new Random(dim * 31 + partitions);
        var whole = new EmbeddedVectorIndex(1, dim);
        var parts = Enumerable.Range(0, partitions).Select(_ => new HalfProxyPartition(dim)).ToArray();
        var proxies = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var queryVectors = Enumerable.Range(0, queries).Select(_ => TestVectors.RandomUnit(random, dim)).ToArray();
        var entries = Enumerable.Range(0, gallery).Select(i => ($"img{i:D6}", TestVectors.RandomUnit(random, dim))).ToList();
        foreach (var (q, number) in queryVectors.Select((q, n) => (q, n)).Where(x => x.n % 2 == 0))
        {
            for (var c = 0; c < 200; c++)
            {
                var near = q.Select(x => x + (float)((random.NextDouble() - 0.5) * 2e-3)).ToArray();
                EmbeddingMath.NormaliseTokens(near, 1);
                entries.Add(($"near{number:D3}-{c:D3}", near));
            }
        }

        // Exact copies too: equal scores, ranked by key.
        entries.Add(("copy-b", queryVectors[1]));
        entries.Add(("copy-a", (float[])queryVectors[1].Clone()));
        foreach (var (key, vector) in entries.OrderBy(_ => random.Next()))
        {
            whole.Add(key, "s", vector);
            parts[(int)((uint)StringComparer.Ordinal.GetHashCode(key) % partitions)].Add(key, "s", vector);
            proxies[key] = vector;
        }

        var flat = queryVectors.SelectMany(q => q).ToArray();
        var expected = new IndexCandidate[queries * k];
        var found = new int[queries];
        whole.Search(flat, queries, k, expected, found);
        var gathered = parts.Select(p => (Partition: p, Hits: p.SearchCandidates(flat, queries, k, limit: 2_000))).ToArray();

        for (var q = 0; q < queries; q++)
        {
            var keys = gathered.SelectMany(g => g.Hits[q].Select(h => g.Partition.KeyOf(h.Ordinal))).ToList();
            var memories = keys.Select(key => (ReadOnlyMemory<float>)proxies[key]).ToList();
            var ranked = ExactRanking.Cut(queryVectors[q], keys, memories, k);

            Assert.Equal(found[q], ranked.Count);
            for (var r = 0; r < ranked.Count; r++)
            {
                var want = expected[(q * k) + r];
                Assert.Equal(whole.KeyOf(want.Ordinal), keys[ranked[r].Position]);
                Assert.Equal(BitConverter.SingleToInt32Bits(want.ProxyScore), BitConverter.SingleToInt32Bits(ranked[r].Score));
            }
        }

        if (gallery > 1_000)
        {
            // The clusters really are beyond float16: some of their members share one float16 cosine.
            var cluster = gathered.SelectMany(g => g.Hits[0]).GroupBy(h => h.ApproximateScore).Max(group => group.Count());
            Assert.True(cluster > 1, "the near-copies were told apart by float16 alone; the test no longer exercises the re-ranking");
        }
    }

    [Fact]
    public void SaveLoadAndRetain_KeepKeysStampsAndVectors()
    {
        var random = new Random(3);
        var partition = new HalfProxyPartition(24);
        var vectors = Enumerable.Range(0, 17_000).Select(_ => TestVectors.RandomUnit(random, 24)).ToArray();
        for (var i = 0; i < vectors.Length; i++)
        {
            partition.Add($"k{i}", $"s{i}", vectors[i]);
        }

        Assert.Equal(2L * 24 * 16_384 * 2, partition.ProxyBytes);
        Assert.Equal(16_500, partition.Retain(i => i % 34 == 0));
        var path = Path.Combine(Path.GetTempPath(), $"icdiff-half-{Guid.NewGuid():N}.bin");
        try
        {
            partition.Save(path);
            var loaded = HalfProxyPartition.Load(path);

            Assert.Equal(500, loaded.Count);
            Assert.Equal("k16966", loaded.KeyOf(499));
            Assert.Equal("s16966", loaded.StampOf(499));
            var hits = loaded.SearchCandidates(vectors[16_966], 1, 1, 1)[0];
            Assert.Equal(499, hits[0].Ordinal);
            Assert.Equal(1f, hits[0].ApproximateScore, 2e-3f);

            // Loaded blocks hold what they have (500 entries, not a block of 16,384), and the partition grows on past them.
            Assert.Equal(500L * 24 * 2, loaded.ProxyBytes);
            for (var i = 0; i < 20; i++)
            {
                loaded.Add($"more{i}", "m", vectors[i * 7]);
            }

            Assert.Equal(520, loaded.Count);
            Assert.Equal("k16966", loaded.KeyOf(499));
            Assert.Equal(499, loaded.SearchCandidates(vectors[16_966], 1, 1, 1)[0][0].Ordinal);
            Assert.Equal("more19", loaded.KeyOf(loaded.SearchCandidates(vectors[19 * 7], 1, 1, 1)[0][0].Ordinal));

            File.WriteAllBytes(path, File.ReadAllBytes(path)[..20]);
            Assert.Throws<InvalidDataException>(() => HalfProxyPartition.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public sealed class HalfProxyPartitionTrimTests
{
    [Fact]
    public void TrimExcess_KeepsOnlyWhatTheEntriesUse_AndTheSameAnswers_AndAddGrowsItBack()
    {
        const int dim = 16;
        var random = new Random(3);
        var partition = new HalfProxyPartition(dim);
        for (var i = 0; i < 20_000; i++)
        {
            partition.Add($"img{i:D6}", "s", TestVectors.RandomUnit(random, dim), i);
        }

        var queries = Enumerable.Range(0, 5).Select(_ => (ReadOnlyMemory<float>)TestVectors.RandomUnit(random, dim)).ToArray();
        var before = partition.SearchCandidates(queries, 8, 32);
        Assert.Equal(2L * 16_384 * dim * 2, partition.ProxyBytes);

        partition.TrimExcess();

        Assert.Equal(20_000L * dim * 2, partition.ProxyBytes);
        var after = partition.SearchCandidates(queries, 8, 32);
        for (var q = 0; q < queries.Length; q++)
        {
            Assert.Equal(before[q], after[q]);
        }

        var added = TestVectors.RandomUnit(random, dim);
        partition.Add("img-added", "s", added, 20_000);
        Assert.Equal(20_001, partition.Count);
        var found = partition.SearchCandidates([added], 1, 1);
        Assert.Equal("img-added", partition.KeyOf(found[0][0].Ordinal));
    }
}

public sealed class HalfConversionTests
{
    [Fact]
    public void ConvertToSingle_IsExact_ForEveryFiniteHalf_AtEveryOffset()
    {
        // Every finite bit pattern (normals, subnormals, both zeros), at offsets that put each in every SIMD lane and in the scalar tail.
        var patterns = Enumerable.Range(0, 1 << 16).Select(b => BitConverter.UInt16BitsToHalf((ushort)b)).Where(Half.IsFinite).ToArray();
        foreach (var offset in new[] { 0, 1, 3, 7 })
        {
            var source = patterns.AsSpan(offset);
            var converted = new float[source.Length];

            HalfProxyPartition.ConvertToSingle(source, converted);

            for (var i = 0; i < source.Length; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits((float)source[i]) == BitConverter.SingleToInt32Bits(converted[i]), $"half 0x{BitConverter.HalfToUInt16Bits(source[i]):X4} became {converted[i]:R}, not {(float)source[i]:R}");
            }
        }
    }
}
