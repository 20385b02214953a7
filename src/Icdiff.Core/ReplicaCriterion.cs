namespace Icdiff.Core;

/// <summary>
/// When a generated image counts as a replica. The paper does not publish its exact criterion, so every
/// report prints this one: the best match among the top <see cref="Candidates"/> gallery candidates
/// (retrieved by proxy vector, re-scored exactly) must reach <see cref="MinLevel"/>.
/// </summary>
public sealed record ReplicaCriterion(int MinLevel, int Candidates, string Rule = MatchRule.Top1)
{
    public const int DefaultMinLevel = 4;
    /// <summary>
    /// Measured with <c>icdiff-bench recall</c> (5,000 gallery images, six-token fixture): the proxy top-16 held the
    /// exhaustive best match of 95.8% of replicas, the top-64 of 99.3%. Re-scoring 64 candidates costs far less
    /// than embedding one image, so 64 it is; larger galleries need a larger k (measure yours).
    /// </summary>
    public const int DefaultCandidates = 64;

    public static ReplicaCriterion Default { get; } = new(DefaultMinLevel, DefaultCandidates);

    public void Validate()
    {
        if (MinLevel is < 1 or > ReplicationLevels.Total)
        {
            throw new ArgumentException($"min-level must be 1..5 (got {MinLevel}).");
        }

        if (Candidates is < 1 or > 16_384)
        {
            throw new ArgumentException($"candidates (k) must be 1..16384 (got {Candidates}).");
        }

        MatchRule.Validate(Rule);
    }

    public bool IsReplica(int level) => level >= MinLevel;

    public string Describe() =>
        Candidates == 1
            ? $"replica = level >= {MinLevel} for the top-1 gallery candidate"
            : Rule == MatchRule.Top1
                ? $"replica = level >= {MinLevel} for the most similar of the top-{Candidates} gallery candidates (rule {MatchRule.Top1}; exact re-scoring)"
                : $"replica = level >= {MinLevel} for the best level of the top-{Candidates} gallery candidates (rule {MatchRule.MaxLevel}; exact re-scoring)";
}
