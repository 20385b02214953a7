namespace Icdiff.Core;

/// <summary>
/// Which gallery candidate is a generated image's match, and so whose level decides whether it is a replica.
/// <see cref="Top1"/> (the default): the candidate the model finds most similar (the exact proxy cosine: the mean-token
/// cosine of a six-token model, the cosine of a one-vector model), as ICDiff levels are meant for a generated image and
/// its matched gallery image. <see cref="MaxLevel"/>: the highest level among the top-k candidates. PDF argmax levels
/// do not grow with similarity (they say which token wins), so an unrelated candidate can reach level 4-5, and taking
/// the best of k multiplies that chance: max-level ratios run higher, and are reported beside top-1 for comparison.
/// </summary>
public static class MatchRule
{
    public const string Top1 = "top1";

    public const string MaxLevel = "max-level";

    /// <summary>Runs recorded before the rule was a setting used max-level.</summary>
    public static string OrLegacy(string? rule) => rule ?? MaxLevel;

    public static string Other(string rule) => rule == Top1 ? MaxLevel : Top1;

    public static void Validate(string rule)
    {
        if (rule is not (Top1 or MaxLevel))
        {
            throw new ArgumentException($"the match rule must be '{Top1}' or '{MaxLevel}' (got '{rule}').");
        }
    }

    public static string Describe(string rule, int candidates) => rule == Top1
        ? $"match = the most similar of the top-{candidates} gallery candidates (exact proxy cosine), its level decides"
        : $"match = the highest level among the top-{candidates} gallery candidates (exact re-scoring)";
}
