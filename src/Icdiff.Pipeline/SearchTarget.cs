using Icdiff.Core;

namespace Icdiff.Pipeline;

/// <summary>Where embedded images are matched: a gallery index, the rule that scores pairs and how many candidates to re-score.</summary>
public sealed record SearchTarget(IGalleryIndex Index, ScoringRule Rule, int Candidates, string MatchRule = Core.MatchRule.Top1);
