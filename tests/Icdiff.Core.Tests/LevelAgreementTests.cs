using Icdiff.Core;

namespace Icdiff.Core.Tests;

public sealed class LevelAgreementTests
{
    [Fact]
    public void Compute_PerfectPredictions_HaveCorrelationOneAndNoError()
    {
        var agreement = LevelAgreement.Compute([(0, 0), (1, 1), (3, 3), (5, 5)]);

        Assert.Equal(1.0, agreement.Pearson, 10);
        Assert.Equal(0.0, agreement.MeanSquaredError, 10);
        Assert.Equal(0.0, agreement.MeanAbsoluteDeviation, 10);
        Assert.Equal(1.0, agreement.ExactAgreement, 10);
        Assert.Equal(1, agreement.Confusion[3][3]);
        Assert.Null(agreement.PerLevelAccuracy[2]);
    }

    [Fact]
    public void Compute_MatchesHandComputedFigures()
    {
        // Normalised human (0, .4, 1) vs predicted (.2, .4, .6): errors .04 + 0 + .16 -> MSE .2/3.
        var agreement = LevelAgreement.Compute([(0, 1), (2, 2), (5, 3)]);

        Assert.Equal(0.2 / 3, agreement.MeanSquaredError, 10);
        // Absolute errors .2 + 0 + .4 -> MAD .6/3.
        Assert.Equal(0.6 / 3, agreement.MeanAbsoluteDeviation, 10);
        // numpy.corrcoef([0, 2, 5], [1, 2, 3]) = 0.9933992677987827.
        Assert.Equal(0.9933992677987827, agreement.Pearson, 10);
        Assert.Equal(1.0 / 3, agreement.ExactAgreement, 10);
        Assert.Equal(0.0, agreement.PerLevelAccuracy[5]);
        Assert.Equal(1, agreement.Confusion[5][3]);
    }

    [Fact]
    public void Compute_ConstantPrediction_HasNoCorrelation()
    {
        Assert.True(double.IsNaN(LevelAgreement.Compute([(0, 2), (5, 2)]).Pearson));
    }

    [Fact]
    public void Compute_NoPairs_HasNoMeanAbsoluteDeviation()
    {
        Assert.True(double.IsNaN(LevelAgreement.Compute([]).MeanAbsoluteDeviation));
    }
}
