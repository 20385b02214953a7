using System.Numerics.Tensors;

namespace Icdiff.Core;

/// <summary>
/// PDF-Embedding scoring (ICDiff): token k of one image is compared with token k of the other only;
/// the token with the highest cosine wins and level = 5 - k. Token 0 therefore means total replication.
/// </summary>
public sealed class PdfArgmaxRule : ScoringRule
{
    public const string RuleName = "pdf-argmax";

    public override string Name => RuleName;

    public override int Tokens => ReplicationLevels.Count;

    public override PairScore Score(ReadOnlySpan<float> generated, ReadOnlySpan<float> gallery)
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
            // Strictly greater keeps the first maximum, as numpy's argmax does in the reference code.
            if (cosine > bestCosine)
            {
                bestCosine = cosine;
                bestToken = k;
            }
        }

        return new PairScore(ReplicationLevels.Total - bestToken, bestCosine);
    }

    public override string Describe() => "pdf-argmax: level = 5 - argmax_k cos(token_k, token_k) over 6 tokens";
}
