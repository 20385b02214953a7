namespace Icdiff.Core;

/// <summary>
/// Turns two embeddings of the same model into a replication level. Embeddings are laid out token-major
/// (<see cref="Tokens"/> x dim) and every token is already L2-normalised, so a cosine is a dot product.
/// </summary>
public abstract class ScoringRule
{
    public abstract string Name { get; }

    /// <summary>How many tokens of the model output the rule reads.</summary>
    public abstract int Tokens { get; }

    public abstract PairScore Score(ReadOnlySpan<float> generated, ReadOnlySpan<float> gallery);

    /// <summary>One line for reports, so a ratio is never shown without the rule that produced it.</summary>
    public abstract string Describe();
}
