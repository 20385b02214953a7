namespace Icdiff.Core;

/// <summary>
/// The one order of gallery candidates, so that no result depends on the order a gallery was indexed in (which
/// follows whichever worker finished its batch first): a higher score first, and among equal scores the smaller
/// gallery key, compared ordinally (culture-free, so every silo agrees). Top-k lists are cut by it, top-k lists of
/// index partitions are merged by it (<see cref="Merge{T}"/>), and the exact re-scoring breaks its ties by it
/// (<see cref="PickBest"/>).
/// </summary>
public static class GalleryRanking
{
    /// <summary>
    /// Exact scores this close are one tie when the best match is chosen. The same image embedded in another batch
    /// position, by another thread count or on another device can differ in the last bits of its embedding, and its
    /// cosines then differ by about the rounding error of a dot product of unit vectors (sqrt(768) x 2^-24, about
    /// 1.7e-6, for PDF-Embedding's width); 1e-5 covers that with room, while a smaller gap between two distinct
    /// images is not one the model's float32 arithmetic can vouch for either.
    /// </summary>
    public const float ScoreTolerance = 1e-5f;

    /// <summary>Negative when (<paramref name="score"/>, <paramref name="key"/>) ranks before (<paramref name="otherScore"/>, <paramref name="otherKey"/>).</summary>
    public static int Compare(float score, string key, float otherScore, string otherKey)
    {
        var byScore = otherScore.CompareTo(score);
        return byScore != 0 ? byScore : string.CompareOrdinal(key, otherKey);
    }

    /// <summary>
    /// The best <paramref name="k"/> of several ranked lists (the top-k lists of index partitions, say), in this order.
    /// The result equals one top-k over the union of the partitions whatever way the gallery was split.
    /// </summary>
    public static List<T> Merge<T>(IEnumerable<IEnumerable<T>> lists, int k, Func<T, float> score, Func<T, string> key)
    {
        ArgumentNullException.ThrowIfNull(lists);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 0);
        var merged = lists.SelectMany(list => list).ToList();
        merged.Sort((a, b) => Compare(score(a), key(a), score(b), key(b)));
        if (merged.Count > k)
        {
            merged.RemoveRange(k, merged.Count - k);
        }

        return merged;
    }

    /// <summary>
    /// Whether <paramref name="rule"/> cannot tell two exact scores apart: their deciding cosines are within
    /// <see cref="ScoreTolerance"/>, and their levels are equal or, for a rule whose level is a function of that
    /// cosine (<see cref="ScoringRule.LevelFollowsSimilarity"/>), differ only because a threshold lies in between.
    /// For pdf-argmax a different level is a different winning token, a different verdict, never a tie.
    /// </summary>
    public static bool Indistinguishable(ScoringRule rule, PairScore a, PairScore b)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return Math.Abs(a.Similarity - b.Similarity) <= ScoreTolerance && (a.Level == b.Level || rule.LevelFollowsSimilarity);
    }

    /// <summary>
    /// The position of the best match among re-scored candidates, or -1 when there are none: the highest score (level,
    /// then cosine), and among the candidates the rule cannot tell from that one, the smallest key. The result is the
    /// chosen candidate itself, so its level and cosine are reported with its key, never another copy's. Ties are
    /// taken against the highest score rather than along the list, so the choice does not depend on candidate order.
    /// </summary>
    public static int PickBest(ScoringRule rule, ReadOnlySpan<PairScore> scores, ReadOnlySpan<string> keys)
    {
        if (scores.Length != keys.Length)
        {
            throw new ArgumentException($"{scores.Length} scores but {keys.Length} keys.", nameof(keys));
        }

        var best = -1;
        for (var i = 0; i < scores.Length; i++)
        {
            if (best < 0 || scores[i] > scores[best])
            {
                best = i;
            }
        }

        var chosen = best;
        for (var i = 0; i < scores.Length; i++)
        {
            if (i != best && Indistinguishable(rule, scores[i], scores[best]) && string.CompareOrdinal(keys[i], keys[chosen]) < 0)
            {
                chosen = i;
            }
        }

        return chosen;
    }
}
