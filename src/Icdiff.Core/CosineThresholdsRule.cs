using System.Globalization;
using System.Numerics.Tensors;

namespace Icdiff.Core;

/// <summary>
/// Single-vector scoring: five ascending cosine thresholds t1..t5; the level is the number of thresholds
/// the cosine reaches, so cos &gt;= t5 is level 5 and cos &lt; t1 is level 0.
/// </summary>
public sealed class CosineThresholdsRule : ScoringRule
{
    public const string RuleName = "cosine-thresholds";

    private readonly float[] _thresholds;

    public CosineThresholdsRule(IReadOnlyList<float> thresholds)
    {
        Validate(thresholds);
        _thresholds = [.. thresholds];
    }

    public override string Name => RuleName;

    public override bool LevelFollowsSimilarity => true;

    public override int Tokens => 1;

    public IReadOnlyList<float> Thresholds => _thresholds;

    public static void Validate(IReadOnlyList<float> thresholds)
    {
        if (thresholds is null || thresholds.Count != ReplicationLevels.Total)
        {
            throw new ArgumentException($"cosine-thresholds needs exactly {ReplicationLevels.Total} thresholds (levels 1..5).");
        }

        for (var i = 0; i < thresholds.Count; i++)
        {
            if (!float.IsFinite(thresholds[i]) || thresholds[i] < -1f || thresholds[i] > 1f)
            {
                throw new ArgumentException($"threshold {i + 1} ({thresholds[i]}) must be a cosine in [-1, 1].");
            }

            if (i > 0 && thresholds[i] < thresholds[i - 1])
            {
                throw new ArgumentException($"thresholds must be ascending; t{i + 1} = {thresholds[i]} is below t{i} = {thresholds[i - 1]}.");
            }
        }
    }

    public int LevelOf(float cosine)
    {
        var level = 0;
        while (level < _thresholds.Length && cosine >= _thresholds[level])
        {
            level++;
        }

        return level;
    }

    protected override PairScore ScoreAllLevels(ReadOnlySpan<float> generated, ReadOnlySpan<float> gallery)
    {
        if (generated.Length != gallery.Length || generated.Length == 0)
        {
            throw new ArgumentException($"cosine-thresholds needs two embeddings of equal length; got {generated.Length} and {gallery.Length} floats.");
        }

        var cosine = TensorPrimitives.Dot(generated, gallery);
        return new PairScore(LevelOf(cosine), cosine);
    }

    public override string Describe() =>
        "cosine-thresholds: level = number of thresholds reached, t1..t5 = "
        + string.Join(", ", _thresholds.Select(t => t.ToString("0.####", CultureInfo.InvariantCulture)));
}
