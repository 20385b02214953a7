using System.Globalization;
using System.Numerics.Tensors;

namespace Icdiff.Core;

/// <summary>
/// Multi-crop scoring: token k of one image is compared with token k of the other (the same crop or view), the
/// highest cosine counts, and five ascending thresholds turn it into a level as in <see cref="CosineThresholdsRule"/>.
/// A copy of the whole image matches in every crop; a copy that kept only part of it still matches in one.
/// </summary>
public sealed class MaxTokenCosineRule : ScoringRule
{
    public const string RuleName = "max-token-cosine";

    private readonly CosineThresholdsRule _levels;

    public MaxTokenCosineRule(int tokens, IReadOnlyList<float> thresholds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens, 1);
        Tokens = tokens;
        _levels = new CosineThresholdsRule(thresholds);
    }

    public override string Name => RuleName;

    public override bool LevelFollowsSimilarity => true;

    public override int Tokens { get; }

    public IReadOnlyList<float> Thresholds => _levels.Thresholds;

    protected override PairScore ScoreAllLevels(ReadOnlySpan<float> generated, ReadOnlySpan<float> gallery)
    {
        if (generated.Length != gallery.Length || generated.Length % Tokens != 0 || generated.Length == 0)
        {
            throw new ArgumentException($"max-token-cosine needs two embeddings of {Tokens} equal tokens; got {generated.Length} and {gallery.Length} floats.");
        }

        var dim = generated.Length / Tokens;
        var best = float.NegativeInfinity;
        for (var k = 0; k < Tokens; k++)
        {
            best = Math.Max(best, TensorPrimitives.Dot(generated.Slice(k * dim, dim), gallery.Slice(k * dim, dim)));
        }

        return new PairScore(_levels.LevelOf(best), best);
    }

    public override string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"max-token-cosine: the highest of {Tokens} same-token cosines; level = number of thresholds reached, t1..t5 = ")
        + string.Join(", ", Thresholds.Select(t => t.ToString("0.####", CultureInfo.InvariantCulture)));
}
