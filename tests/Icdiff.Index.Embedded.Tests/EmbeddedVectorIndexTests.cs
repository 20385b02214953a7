using System.Runtime.CompilerServices;
using Icdiff.Core;
using Icdiff.Index.Embedded;

namespace Icdiff.Index.Embedded.Tests;

public sealed class EmbeddedVectorIndexTests
{
    private static EmbeddedVectorIndex Build(Random random, int count, int tokens, int dim, List<float[]> kept)
    {
        var index = new EmbeddedVectorIndex(tokens, dim, capacity: 4);
        for (var i = 0; i < count; i++)
        {
            var e = new float[tokens * dim];
            for (var k = 0; k < tokens; k++)
            {
                TestVectors.RandomUnit(random, dim).CopyTo(e, k * dim);
            }

            kept.Add(e);
            index.Add($"img{i}", "s", e);
        }

        return index;
    }

    [Theory]
    [InlineData(1, 1, 1, 48)]
    [InlineData(1, 10, 7, 48)]
    [InlineData(6, 10, 5, 48)]
    [InlineData(1, 40, 300, 48)]
    [InlineData(1, 5, 2, 13)] // not a multiple of the SIMD width: the scalar tails
    [InlineData(1, 3, 1, 704)] // the built-in model's width, odd gallery size
    [InlineData(2, 8, 40_000, 16)] // storage blocks of 16,384 entries: candidates from three blocks
    public void Search_MatchesBruteForceTopK(int tokens, int k, int galleryHint, int dim)
    {
        var random = new Random(tokens * 1000 + k);
        var vectors = new List<float[]>();
        var index = Build(random, 500 + galleryHint, tokens, dim, vectors);
        const int Queries = 25;
        var proxies = new float[Queries * dim];
        for (var q = 0; q < Queries; q++)
        {
            TestVectors.RandomUnit(random, dim).CopyTo(proxies, q * dim);
        }

        var results = new IndexCandidate[Queries * k];
        var found = new int[Queries];
        index.Search(proxies, Queries, k, results, found);

        for (var q = 0; q < Queries; q++)
        {
            var query = proxies.AsSpan(q * dim, dim).ToArray();
            var expected = Enumerable.Range(0, index.Count)
                .Select(i => (Ordinal: i, Score: Dot(query, index.ProxyOf(i))))
                .OrderByDescending(x => x.Score).ThenBy(x => index.KeyOf(x.Ordinal), StringComparer.Ordinal).Take(k).ToArray();
            Assert.Equal(expected.Length, found[q]);
            for (var r = 0; r < k; r++)
            {
                Assert.Equal(expected[r].Ordinal, results[(q * k) + r].Ordinal);
                Assert.Equal(expected[r].Score, results[(q * k) + r].ProxyScore, 1e-5f);
            }
        }
    }

    [Theory]
    [InlineData(48, 1)]
    [InlineData(48, 5)] // four queries share the gallery loads, the fifth goes alone: both kernels
    [InlineData(13, 4)] // not a multiple of the SIMD width
    public void Search_EqualScoresAtTheCutOfK_KeepTheSmallestKeys_WhateverTheInsertionOrder(int dim, int queries)
    {
        var random = new Random(dim + queries);
        var copy = TestVectors.RandomUnit(random, dim);
        var others = Enumerable.Range(0, 40).Select(i => ($"other-{i:D2}", TestVectors.RandomUnit(random, dim))).ToList();
        // Six copies of one vector, so six exactly equal scores for every query, and a cut at k = 3 through them.
        string[] copies = ["zz/copy", "m/copy", "a/copy-2", "a/copy-10", "B/copy", "photos/copy"];
        string[] expected = ["B/copy", "a/copy-10", "a/copy-2"];
        const int K = 3;
        var proxies = new float[queries * dim];
        for (var q = 0; q < queries; q++)
        {
            // Queries near the copy, so the copies are the top candidates and the cut at k falls among them.
            var query = copy.Select(x => x + (0.05f * (float)((random.NextDouble() * 2) - 1))).ToArray();
            EmbeddingMath.NormaliseTokens(query, 1);
            query.CopyTo(proxies, q * dim);
        }

        string[]? first = null;
        for (var order = 0; order < 6; order++)
        {
            var entries = copies.Select(key => (key, copy)).Concat(others).ToArray();
            random.Shuffle(entries);
            var index = new EmbeddedVectorIndex(1, dim);
            foreach (var (key, vector) in entries)
            {
                index.Add(key, "s", vector);
            }

            var results = new IndexCandidate[queries * K];
            var found = new int[queries];
            index.Search(proxies, queries, K, results, found);

            var keys = results.Select(r => index.KeyOf(r.Ordinal)).ToArray();
            for (var q = 0; q < queries; q++)
            {
                Assert.Equal(expected, keys.AsSpan(q * K, K).ToArray());
            }

            first ??= keys;
            Assert.Equal(first, keys);
        }
    }

    [Fact]
    public void Search_KLargerThanGallery_ReturnsWholeGallery()
    {
        var index = Build(new Random(1), 3, 1, 8, []);
        var results = new IndexCandidate[10];
        var found = new int[1];

        index.Search(index.ProxyOf(0).ToArray(), 1, 10, results, found);

        Assert.Equal(3, found[0]);
        Assert.Equal(0, results[0].Ordinal);
        Assert.Equal(1f, results[0].ProxyScore, 5);
    }

    [Fact]
    public void Proxy_OfMultiTokenEntry_IsNormalisedMeanOfTokens()
    {
        var e = new float[] { 1, 0, 0, 1 };
        var index = new EmbeddedVectorIndex(2, 2);
        index.Add("a", "s", e);

        Assert.Equal(MathF.Sqrt(0.5f), index.ProxyOf(0)[0], 5);
        Assert.Equal(MathF.Sqrt(0.5f), index.ProxyOf(0)[1], 5);
        Assert.Equal(e, index.EmbeddingOf(0).ToArray());
    }

    [Fact]
    public void SaveAndLoad_RoundTripsKeysStampsAndEmbeddings()
    {
        var vectors = new List<float[]>();
        var index = Build(new Random(5), 300, 6, 16, vectors);
        var path = Path.Combine(Path.GetTempPath(), $"icdiff-index-{Guid.NewGuid():N}.bin");
        try
        {
            index.Save(path);
            var loaded = EmbeddedVectorIndex.Load(path);

            Assert.Equal(index.Count, loaded.Count);
            for (var i = 0; i < index.Count; i++)
            {
                Assert.Equal(index.KeyOf(i), loaded.KeyOf(i));
                Assert.Equal(vectors[i], loaded.EmbeddingOf(i).ToArray());
                Assert.Equal(index.ProxyOf(i).ToArray(), loaded.ProxyOf(i).ToArray());
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_NotAnIndexFile_ThrowsInvalidData()
    {
        var path = Path.Combine(Path.GetTempPath(), $"icdiff-bad-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        try
        {
            Assert.Throws<InvalidDataException>(() => EmbeddedVectorIndex.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Retain_DropsRejectedEntriesAndKeepsOrder()
    {
        var vectors = new List<float[]>();
        var index = Build(new Random(9), 10, 1, 4, vectors);

        var removed = index.Retain(i => i % 3 == 0);

        Assert.Equal(6, removed);
        Assert.Equal(["img0", "img3", "img6", "img9"], Enumerable.Range(0, index.Count).Select(index.KeyOf));
        Assert.Equal(vectors[6], index.EmbeddingOf(2).ToArray());
    }

    [Fact]
    public void Retain_AcrossStorageBlocks_MovesEntriesBetweenBlocks()
    {
        var vectors = new List<float[]>();
        var index = Build(new Random(11), 40_000, 2, 8, vectors);

        var removed = index.Retain(i => i % 2 == 1);

        Assert.Equal(20_000, removed);
        for (var i = 0; i < index.Count; i += 997)
        {
            Assert.Equal($"img{(2 * i) + 1}", index.KeyOf(i));
            Assert.Equal(vectors[(2 * i) + 1], index.EmbeddingOf(i).ToArray());
        }
    }

    /// <summary>
    /// A six-token 768-d gallery (PDF-Embedding's shape) of 300,000 entries holds 1.38e9 floats: past the 32-bit element
    /// count the old flat arrays overflowed at (262,144 entries), so it must build, persist and load whole, and the entries
    /// in the last storage blocks must be found by a search.
    /// </summary>
    [Fact]
    public void SixTokenGalleryOf300000_BuildsPersistsLoadsAndSearchesPastThe32BitElementLimit()
    {
        const int Tokens = 6, Dim = 768, Count = 300_000;
        var path = Path.Combine(Path.GetTempPath(), $"icdiff-large-{Guid.NewGuid():N}.bin");
        try
        {
            var (first, last) = (Planted(0), Planted(Count - 1));
            var embedding = new float[Tokens * Dim];
            BuildAndSave(first, last, embedding, path);
            Assert.True(new FileInfo(path).Length > (long)Count * Tokens * Dim * sizeof(float));
            GC.Collect();

            var loaded = EmbeddedVectorIndex.Load(path);

            Assert.Equal(Count, loaded.Count);
            Assert.Equal("img299999", loaded.KeyOf(Count - 1));
            Assert.Equal("s299999", loaded.StampOf(Count - 1));
            Assert.Equal(last, loaded.EmbeddingOf(Count - 1).ToArray());
            Assert.Equal(first, loaded.EmbeddingOf(0).ToArray());
            Assert.Equal(Basis(262_144, embedding), loaded.EmbeddingOf(262_144).ToArray());
            var queries = new float[2 * Dim];
            EmbeddingMath.Proxy(last, Tokens, queries.AsSpan(0, Dim));
            EmbeddingMath.Proxy(first, Tokens, queries.AsSpan(Dim, Dim));
            var results = new IndexCandidate[2 * 3];
            var found = new int[2];
            loaded.Search(queries, 2, 3, results, found);
            Assert.Equal([3, 3], found);
            Assert.Equal(Count - 1, results[0].Ordinal);
            Assert.Equal(1f, results[0].ProxyScore, 1e-4f);
            Assert.Equal(0, results[3].Ordinal);
            Assert.Equal(1f, results[3].ProxyScore, 1e-4f);
        }
        finally
        {
            File.Delete(path);
        }

        // Built in its own frame, so the built index can be collected before the loaded one is allocated.
        [MethodImpl(MethodImplOptions.NoInlining)]
        static void BuildAndSave(float[] first, float[] last, float[] embedding, string path)
        {
            var index = new EmbeddedVectorIndex(Tokens, Dim);
            for (var i = 0; i < Count; i++)
            {
                var e = i == 0 ? first : i == Count - 1 ? last : Basis(i, embedding);
                index.Add($"img{i:D6}", $"s{i}", e);
            }

            Assert.Equal(Count, index.Count);
            index.Save(path);
        }

        // Every token one basis direction, so filling 1.4e9 floats costs a copy, not a random draw per float.
        static float[] Basis(int i, float[] buffer)
        {
            Array.Clear(buffer);
            for (var t = 0; t < Tokens; t++)
            {
                buffer[(t * Dim) + ((i + (t * 97)) % Dim)] = 1f;
            }

            return buffer;
        }

        // Distinct dense entries: unlike the basis ones, no other entry comes near them.
        static float[] Planted(int seed)
        {
            var random = new Random(seed + 1);
            var e = new float[Tokens * Dim];
            for (var t = 0; t < Tokens; t++)
            {
                TestVectors.RandomUnit(random, Dim).CopyTo(e, t * Dim);
            }

            return e;
        }
    }

    private static float Dot(float[] a, ReadOnlySpan<float> b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
