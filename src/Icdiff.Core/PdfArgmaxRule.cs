using System.Numerics.Tensors;

namespace Icdiff.Core;

/// <summary>
/// PDF-Embedding scoring (ICDiff): token k of one image is compared with token k of the other only;
/// the token with the highest cosine wins and level = 5 - k. Token 0 therefore means total replication.
/// </summary>
public sealed class PdfArgmaxRule : ScoringRule
{
    public const string RuleName = "pdf-argmax";

    /// <summary>The default tie tolerance: cosines this close are float noise (an exact copy has six cosines of 1).</summary>
    public const float DefaultTieTolerance = 1e-5f;

    /// <param name="tieTolerance">
    /// A token beats an earlier one (a higher level) only by more than this. For identical or near-identical images all
    /// six cosines are 1 up to rounding, and a plain argmax would pick a level by rounding: an exact copy could read 0.
    /// </param>
    public PdfArgmaxRule(float tieTolerance = DefaultTieTolerance)
    {
        if (!(tieTolerance is >= 0 and <= 0.1f))
        {
            throw new ArgumentException($"the tie tolerance must be 0..0.1 (got {tieTolerance}).", nameof(tieTolerance));
        }

        TieTolerance = tieTolerance;
    }

    public float TieTolerance { get; }

    public override string Name => RuleName;

    public override int Tokens => ReplicationLevels.Count;

    protected override PairScore ScoreAllLevels(ReadOnlySpan<float> generated, ReadOnlySpan<float> gallery)
    {
        if (generated.Length != gallery.Length || generated.Length % Tokens != 0)
        {
            throw new ArgumentException($"pdf-argmax needs two embeddings of {Tokens} equal tokens; got {generated.Length} and {gallery.Length} floats.");
        }

        var dim = generated.Length / Tokens;
        var bestToken = 0;
        var bestCosine = float.NegativeInfinity;
        for (var k = 0; k < Tokens; k++)
        {
            var cosine = TensorPrimitives.Dot(generated.Slice(k * dim, dim), gallery.Slice(k * dim, dim));
            // Ties (within the tolerance) keep the earlier token, i.e. the higher level; with a zero tolerance this is
            // numpy's argmax of the reference code, which keeps the first maximum.
            if (cosine > bestCosine + TieTolerance)
            {
                bestCosine = cosine;
                bestToken = k;
            }
        }

        return new PairScore(ReplicationLevels.Total - bestToken, bestCosine);
    }

    public override string Describe() => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"pdf-argmax: level = 5 - argmax_k cos(token_k, token_k) over 6 tokens (ties within {TieTolerance:0.######} to the higher level)");
}
