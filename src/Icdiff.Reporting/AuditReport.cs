using Icdiff.Grains;

namespace Icdiff.Reporting;

/// <summary>Everything a finished run reports, in one object that every writer renders.</summary>
public sealed record AuditReport(
    string RunId,
    string GalleryLocation,
    int GalleryIndexed,
    IReadOnlyList<SkipRecord> GallerySkipped,
    string ModelName,
    string ScoringRule,
    string Criterion,
    int MinLevel,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    IReadOnlyList<ModelReport> Models,
    string MatchRule = "top1",
    IReadOnlyList<int>? GradedLevels = null,
    ModelReport? Control = null,
    string? GalleryIndex = null)
{
    /// <summary>The rule whose ratio each model also gets, for comparison.</summary>
    public string OtherMatchRule => MatchRule == "top1" ? "max-level" : "top1";

    public bool IsGraded(int level) => GradedLevels is null || GradedLevels.Contains(level);
}

/// <summary>One model's figures, matches and skips; <see cref="TrueRate"/> is known only for synthetic corpora.</summary>
/// <remarks>
/// <see cref="CumulativeRatios"/>: share of scanned images at level >= 1 .. >= 5 under the run's rule, so the ratio can be
/// read under another minimum level. <see cref="ClearsControl"/>: whether the model's interval lies wholly above the
/// control corpus's false-replica rate (null without a control).
/// </remarks>
public sealed record ModelReport(string Location, ModelSummary Summary, IReadOnlyList<MatchRecord> Matches, IReadOnlyList<SkipRecord> Skipped, double? TrueRate, bool? ClearsControl = null)
{
    public double[] CumulativeRatios => Summary.CumulativeRatios();
}
