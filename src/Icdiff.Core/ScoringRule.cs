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

    private int[] _gradedLevels = [0, 1, 2, 3, 4, 5];

    /// <summary>
    /// The levels this model can tell apart (manifest <c>scoring.gradedLevels</c>; default all six, 0 always among
    /// them). A level it cannot grade is never reported: a pair that the rule would put there gets the highest graded
    /// level below it. The built-in descriptor grades 0, 4 and 5 only (its t1..t3 coincide), so an unrelated image just
    /// above t1 reads level 0, not a "level 3" of partial replication that is not there.
    /// </summary>
    public IReadOnlyList<int> GradedLevels
    {
        get => _gradedLevels;
        init => _gradedLevels = CheckGradedLevels(value);
    }

    /// <summary>This rule with other graded levels (a copy; rules are immutable).</summary>
    public ScoringRule WithGradedLevels(IReadOnlyList<int> levels)
    {
        var copy = (ScoringRule)MemberwiseClone();
        copy._gradedLevels = CheckGradedLevels(levels);
        return copy;
    }

    public bool IsGraded(int level) => Array.IndexOf(_gradedLevels, level) >= 0;

    /// <summary>Scores the pair and reports its level among the graded ones.</summary>
    public PairScore Score(ReadOnlySpan<float> generated, ReadOnlySpan<float> gallery)
    {
        var score = ScoreAllLevels(generated, gallery);
        return _gradedLevels.Length == ReplicationLevels.Count ? score : score with { Level = Graded(score.Level) };
    }

    /// <summary>The rule's verdict over all six levels, before levels it cannot grade are folded down.</summary>
    protected abstract PairScore ScoreAllLevels(ReadOnlySpan<float> generated, ReadOnlySpan<float> gallery);

    /// <summary>The highest graded level at or below <paramref name="level"/>.</summary>
    public int Graded(int level)
    {
        for (var l = level; l > 0; l--)
        {
            if (IsGraded(l))
            {
                return l;
            }
        }

        return ReplicationLevels.None;
    }

    private static int[] CheckGradedLevels(IReadOnlyList<int> levels)
    {
        ArgumentNullException.ThrowIfNull(levels);
        var sorted = levels.Distinct().Order().ToArray();
        if (sorted.Length != levels.Count || sorted.Length == 0 || sorted[0] != ReplicationLevels.None || sorted[^1] > ReplicationLevels.Total)
        {
            throw new ArgumentException($"graded levels must be distinct levels 0..5 including 0 (got {string.Join(", ", levels)}).");
        }

        return sorted;
    }

    /// <summary>
    /// True when the level is a function of <see cref="PairScore.Similarity"/> alone (thresholds on one cosine), so
    /// two scores with nearly equal cosines differ in level only where a threshold falls between them, which is float
    /// noise, not a verdict (see <see cref="GalleryRanking.Indistinguishable"/>).
    /// </summary>
    public virtual bool LevelFollowsSimilarity => false;

    /// <summary>One line for reports, so a ratio is never shown without the rule that produced it.</summary>
    public abstract string Describe();

    /// <summary><see cref="Describe"/> plus the graded levels when the model does not grade all six.</summary>
    public string DescribeWithGrading() =>
        _gradedLevels.Length == ReplicationLevels.Count ? Describe() : $"{Describe()}; graded levels {string.Join("/", _gradedLevels)} (others not graded)";
}
