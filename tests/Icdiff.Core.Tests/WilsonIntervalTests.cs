using Icdiff.Core;

namespace Icdiff.Core.Tests;

public sealed class WilsonIntervalTests
{
    [Theory]
    // Reference values computed independently (statsmodels proportion_confint(method="wilson")).
    [InlineData(120, 600, 0.1700, 0.2341)]
    [InlineData(0, 50, 0.0, 0.0714)]
    [InlineData(50, 50, 0.9286, 1.0)]
    [InlineData(1, 10, 0.0179, 0.4042)]
    public void Compute_MatchesReferenceValues(long successes, long trials, double lower, double upper)
    {
        var interval = WilsonInterval.Compute(successes, trials);

        Assert.Equal(lower, interval.Lower, 3);
        Assert.Equal(upper, interval.Upper, 3);
    }

    [Fact]
    public void Compute_NoTrials_IsWholeRange()
    {
        Assert.Equal(new WilsonInterval(0, 1), WilsonInterval.Compute(0, 0));
    }

    [Fact]
    public void Compute_AlwaysContainsTheObservedProportion()
    {
        for (var n = 1; n <= 200; n += 7)
        {
            for (var k = 0; k <= n; k += 3)
            {
                Assert.True(WilsonInterval.Compute(k, n).Contains(k / (double)n), $"{k}/{n}");
            }
        }
    }

    [Fact]
    public void Compute_MoreSuccessesThanTrials_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Compute(5, 4));
    }
}
