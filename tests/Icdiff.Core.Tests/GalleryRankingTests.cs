using Icdiff.Core;

namespace Icdiff.Core.Tests;

public sealed class GalleryRankingTests
{
    private static readonly CosineThresholdsRule Thresholds = new([0.5f, 0.6f, 0.7f, 0.8f, 0.9f]);

    [Fact]
    public void Compare_OrdersByScoreDescending_ThenByKeyOrdinally()
    {
        Assert.True(GalleryRanking.Compare(0.9f, "z", 0.8f, "a") < 0);
        Assert.True(GalleryRanking.Compare(0.8f, "a", 0.8f, "b") < 0);
        // Ordinal, not culture: capitals sort before lower case, and no silo's locale changes that.
        Assert.True(GalleryRanking.Compare(0.8f, "B.png", 0.8f, "a.png") < 0);
        Assert.Equal(0, GalleryRanking.Compare(0.8f, "a", 0.8f, "a"));
    }

    [Fact]
    public void Merge_OfPartitionsTopK_EqualsTheTopKOfTheWholeGallery_HoweverItIsSplit()
    {
        var random = new Random(5);
        // Scores from a few values only, so ties cross partitions and straddle the cut at k.
        var gallery = Enumerable.Range(0, 200).Select(i => (Key: $"img{random.Next(100_000):D6}-{i}", Score: random.Next(6) / 8f)).ToArray();
        const int K = 16;
        var whole = gallery.OrderByDescending(g => g.Score).ThenBy(g => g.Key, StringComparer.Ordinal).Take(K).ToArray();

        foreach (var partitions in new[] { 1, 3, 7 })
        {
            random.Shuffle(gallery);
            var tops = gallery.Select((g, i) => (g, i)).GroupBy(x => x.i % partitions, x => x.g)
                .Select(p => GalleryRanking.Merge([p], K, g => g.Score, g => g.Key));

            var merged = GalleryRanking.Merge(tops, K, g => g.Score, g => g.Key);

            Assert.Equal(whole, merged);
        }
    }

    [Fact]
    public void PickBest_EqualScores_TakesTheSmallestKey_InWhateverOrderTheCandidatesCome()
    {
        PairScore[] scores = [new(5, 0.95f), new(5, 0.95f), new(4, 0.85f), new(5, 0.95f)];
        string[] keys = ["copy-c.png", "copy-a.png", "other.png", "copy-b.png"];

        foreach (var order in new[] { new[] { 0, 1, 2, 3 }, [3, 2, 1, 0], [2, 0, 3, 1] })
        {
            var best = GalleryRanking.PickBest(Thresholds, order.Select(i => scores[i]).ToArray(), order.Select(i => keys[i]).ToArray());

            Assert.Equal("copy-a.png", keys[order[best]]);
        }
    }

    [Fact]
    public void PickBest_ScoresWithinToleranceAcrossAThreshold_AreOneTie_WonByTheSmallerKey()
    {
        // Two copies of one image on either side of the level-5 threshold by float noise: a threshold rule's level follows
        // the cosine, so this is a tie, and the smaller key wins (reported with its own level, 4).
        var above = Thresholds.Score([1, 0], [0.900003f, MathF.Sqrt(1 - (0.900003f * 0.900003f))]);
        var below = Thresholds.Score([1, 0], [0.899998f, MathF.Sqrt(1 - (0.899998f * 0.899998f))]);
        Assert.Equal((5, 4), (above.Level, below.Level));

        var best = GalleryRanking.PickBest(Thresholds, [above, below], ["b.png", "a.png"]);

        Assert.Equal(1, best);
    }

    [Fact]
    public void PickBest_ScoresApartByMoreThanTheTolerance_TakesTheHigherScore_WhateverItsKey()
    {
        var best = GalleryRanking.PickBest(Thresholds, [new PairScore(5, 0.95f), new PairScore(5, 0.95f + (3 * GalleryRanking.ScoreTolerance))], ["a.png", "b.png"]);

        Assert.Equal(1, best);
    }

    [Fact]
    public void PickBest_ChainOfNearScores_TiesOnlyWithTheBest_SoTheOrderDoesNotMatter()
    {
        // c is best; b is within the tolerance of c; a is within it of b but not of c. Walking the list pairwise would
        // let a win through b when the list runs c, b, a; anchored to the best score, b wins in every order.
        var t = GalleryRanking.ScoreTolerance;
        PairScore[] scores = [new(5, 0.95f), new(5, 0.95f - (0.6f * t)), new(5, 0.95f - (1.2f * t))];
        string[] keys = ["c", "b", "a"];

        foreach (var order in new[] { new[] { 0, 1, 2 }, [2, 1, 0], [1, 2, 0], [0, 2, 1] })
        {
            var best = GalleryRanking.PickBest(Thresholds, order.Select(i => scores[i]).ToArray(), order.Select(i => keys[i]).ToArray());

            Assert.Equal("b", keys[order[best]]);
        }
    }

    [Fact]
    public void PickBest_PdfArgmax_NearEqualCosinesOfDifferentTokens_AreDifferentVerdicts()
    {
        // For pdf-argmax the level is the winning token: level 5 against level 3 is no tie, however close the cosines.
        var rule = new PdfArgmaxRule();

        var best = GalleryRanking.PickBest(rule, [new PairScore(5, 0.7f), new PairScore(3, 0.7f)], ["b.png", "a.png"]);

        Assert.Equal(0, best);
        Assert.True(GalleryRanking.Indistinguishable(rule, new PairScore(5, 0.7f), new PairScore(5, 0.700004f)));
    }

    [Fact]
    public void PickBest_NoCandidates_IsMinusOne()
    {
        Assert.Equal(-1, GalleryRanking.PickBest(Thresholds, [], []));
        Assert.Throws<ArgumentException>(() => GalleryRanking.PickBest(Thresholds, [new PairScore(1, 0.5f)], []));
    }
}
