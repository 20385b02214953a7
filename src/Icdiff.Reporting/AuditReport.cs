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
    IReadOnlyList<ModelReport> Models);

/// <summary>One model's figures, matches and skips; <see cref="TrueRate"/> is known only for synthetic corpora.</summary>
public sealed record ModelReport(string Location, ModelSummary Summary, IReadOnlyList<MatchRecord> Matches, IReadOnlyList<SkipRecord> Skipped, double? TrueRate);
