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

    /// <summary>
    /// True when the level is a function of <see cref="PairScore.Similarity"/> alone (thresholds on one cosine), so
    /// two scores with nearly equal cosines differ in level only where a threshold falls between them, which is float
    /// noise, not a verdict (see <see cref="GalleryRanking.Indistinguishable"/>).
    /// </summary>
    public virtual bool LevelFollowsSimilarity => false;

    /// <summary>One line for reports, so a ratio is never shown without the rule that produced it.</summary>
    public abstract string Describe();
}
