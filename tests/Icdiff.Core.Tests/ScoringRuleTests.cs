using Icdiff.Core;

namespace Icdiff.Core.Tests;

public sealed class ScoringRuleTests
{
    private const int Dim = 8;

    /// <summary>Six unit tokens; token k of the pair is given cosine cosines[k] by construction.</summary>
    private static (float[] A, float[] B) PairWithCosines(params float[] cosines)
    {
        var a = new float[6 * Dim];
        var b = new float[6 * Dim];
        for (var k = 0; k < 6; k++)
        {
            // a_k = e0, b_k = c*e0 + sqrt(1-c^2)*e1: both unit length, cosine exactly c.
            a[k * Dim] = 1;
            b[k * Dim] = cosines[k];
            b[(k * Dim) + 1] = MathF.Sqrt(1 - (cosines[k] * cosines[k]));
        }

        return (a, b);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(1, 4)]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    [InlineData(4, 1)]
    [InlineData(5, 0)]
    public void PdfArgmax_WinningToken_GivesFiveMinusToken(int winner, int expectedLevel)
    {
        var cosines = new float[] { 0.1f, 0.2f, 0.15f, 0.05f, 0.3f, 0.25f };
        cosines[winner] = 0.9f;
        var (a, b) = PairWithCosines(cosines);

        var score = new PdfArgmaxRule().Score(a, b);

        Assert.Equal(expectedLevel, score.Level);
        Assert.Equal(0.9f, score.Similarity, 5);
    }

    [Fact]
    public void PdfArgmax_CosinesWithinTheTolerance_GoToTheHigherLevel()
    {
        // An exact copy: every token's cosine is 1 up to rounding; a later token a hair above must not decide.
        var (a, b) = PairWithCosines(0.999995f, 0.999997f, 0.999999f, 0.999996f, 0.999998f, 0.999994f);

        Assert.Equal(5, new PdfArgmaxRule().Score(a, b).Level);
        Assert.Equal(3, new PdfArgmaxRule(tieTolerance: 0).Score(a, b).Level);
        // Beyond the tolerance the later token wins as before.
        var (c, d) = PairWithCosines(0.90f, 0.95f, 0.5f, 0.5f, 0.5f, 0.5f);
        Assert.Equal(4, new PdfArgmaxRule().Score(c, d).Level);
    }

    [Fact]
    public void GradedLevels_FoldUngradedLevelsDown_AndAreValidated()
    {
        var rule = new CosineThresholdsRule([0.5f, 0.5f, 0.5f, 0.8f, 0.99f]) { GradedLevels = [0, 4, 5] };
        var one = new[] { 1f, 0f };

        Assert.Equal(0, rule.Score(one, new[] { 0.6f, 0.8f }).Level); // level 3 by thresholds: not graded, reads 0
        Assert.Equal(4, rule.Score(one, new[] { 0.9f, MathF.Sqrt(1 - 0.81f) }).Level);
        Assert.Equal(3, new CosineThresholdsRule([0.5f, 0.5f, 0.5f, 0.8f, 0.99f]).Score(one, new[] { 0.6f, 0.8f }).Level);
        Assert.Contains("graded levels 0/4/5", rule.DescribeWithGrading(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => rule.WithGradedLevels([4, 5]));
        Assert.Throws<ArgumentException>(() => rule.WithGradedLevels([0, 4, 4]));
        Assert.Throws<ArgumentException>(() => rule.WithGradedLevels([0, 6]));
    }

    [Fact]
    public void PdfArgmax_TiedCosines_TakesFirstTokenLikeNumpyArgmax()
    {
        var (a, b) = PairWithCosines(0.5f, 0.7f, 0.7f, 0.1f, 0.1f, 0.1f);

        Assert.Equal(4, new PdfArgmaxRule().Score(a, b).Level);
    }

    [Fact]
    public void PdfArgmax_ComparesTokenKWithTokenKOnly()
    {
        // a's token 0 equals b's token 5; a cross-token comparison would call this a total copy.
        var a = new float[6 * Dim];
        var b = new float[6 * Dim];
        for (var k = 0; k < 6; k++)
        {
            a[(k * Dim) + k] = 1;
            b[(k * Dim) + (5 - k)] = 1;
        }

        b[(2 * Dim) + 2] = 0.6f;
        b[(2 * Dim) + 3] = 0.8f;

        var score = new PdfArgmaxRule().Score(a, b);

        Assert.Equal(3, score.Level);
        Assert.Equal(0.6f, score.Similarity, 5);
    }

    [Fact]
    public void PdfArgmax_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => new PdfArgmaxRule().Score(new float[12], new float[12 + 6]));
    }

    [Theory]
    [InlineData(0.05f, 0)]
    [InlineData(0.10f, 1)]
    [InlineData(0.45f, 2)]
    [InlineData(0.60f, 3)]
    [InlineData(0.79f, 3)]
    [InlineData(0.80f, 4)]
    [InlineData(0.949f, 4)]
    [InlineData(0.95f, 5)]
    [InlineData(1.0f, 5)]
    public void CosineThresholds_MapsCosineToNumberOfThresholdsReached(float cosine, int expectedLevel)
    {
        var rule = new CosineThresholdsRule([0.1f, 0.3f, 0.5f, 0.8f, 0.95f]);
        var a = new float[] { 1, 0, 0 };
        var b = new float[] { cosine, MathF.Sqrt(1 - (cosine * cosine)), 0 };

        var score = rule.Score(a, b);

        Assert.Equal(expectedLevel, score.Level);
        Assert.Equal(cosine, score.Similarity, 5);
    }

    [Theory]
    [InlineData(new[] { 0.1f, 0.3f, 0.2f, 0.8f, 0.9f })]
    [InlineData(new[] { 0.1f, 0.3f, 0.5f, 0.8f })]
    [InlineData(new[] { 0.1f, 0.3f, 0.5f, 0.8f, 1.5f })]
    public void CosineThresholds_InvalidThresholds_Throw(float[] thresholds)
    {
        Assert.Throws<ArgumentException>(() => new CosineThresholdsRule(thresholds));
    }

    [Fact]
    public void PairScore_OrdersByLevelThenSimilarity()
    {
        Assert.True(new PairScore(4, 0.2f) > new PairScore(3, 0.99f));
        Assert.True(new PairScore(4, 0.9f) > new PairScore(4, 0.8f));
        Assert.True(PairScore.Nothing < new PairScore(0, -1f));
    }
}
