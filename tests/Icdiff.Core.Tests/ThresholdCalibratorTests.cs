using Icdiff.Core;

namespace Icdiff.Core.Tests;

public sealed class ThresholdCalibratorTests
{
    [Fact]
    public void Fit_SeparableLevels_ReachesFullAgreement()
    {
        var pairs = new List<(float, int)>();
        for (var level = 0; level <= 5; level++)
        {
            for (var i = 0; i < 10; i++)
            {
                pairs.Add(((level * 0.15f) + (i * 0.01f), level));
            }
        }

        var thresholds = ThresholdCalibrator.Fit(pairs);

        Assert.Equal(pairs.Count, ThresholdCalibrator.Agreements(pairs, thresholds));
        for (var i = 1; i < thresholds.Length; i++)
        {
            Assert.True(thresholds[i] >= thresholds[i - 1]);
        }
    }

    [Fact]
    public void Fit_NoisyLabels_IsAtLeastAsGoodAsEveryGridCandidate()
    {
        var random = new Random(3);
        var pairs = Enumerable.Range(0, 300).Select(_ =>
        {
            var level = random.Next(6);
            return ((float)Math.Clamp((level * 0.15) + ((random.NextDouble() - 0.5) * 0.3), -1, 1), level);
        }).ToList();

        var best = ThresholdCalibrator.Agreements(pairs, ThresholdCalibrator.Fit(pairs));

        // The DP is exact: no monotone threshold set from a coarse grid may beat it.
        var grid = Enumerable.Range(0, 11).Select(i => (i * 0.1f) - 0.1f).ToArray();
        for (var trial = 0; trial < 2000; trial++)
        {
            var candidate = Enumerable.Range(0, 5).Select(_ => grid[random.Next(grid.Length)]).Order().ToArray();
            Assert.True(ThresholdCalibrator.Agreements(pairs, candidate) <= best);
        }
    }

    [Fact]
    public void Fit_InvalidLevel_Throws()
    {
        Assert.Throws<ArgumentException>(() => ThresholdCalibrator.Fit([(0.5f, 6)]));
    }
}
