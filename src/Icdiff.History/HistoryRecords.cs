namespace Icdiff.History;

/// <summary>States a run goes through in the history; stored as their names.</summary>
public static class HistoryRunStates
{
    public const string Running = "Running";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string Cancelled = "Cancelled";
}

/// <summary>
/// One audit run as the history keeps it: what was asked (gallery, model manifest, criterion, schedule), how it went
/// (state, timing, error) and each model's figures. A run is written when it starts, its progress while it runs and
/// its figures when it ends.
/// </summary>
public sealed record HistoryRun(
    string RunId,
    string? Schedule,
    string State,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    string Gallery,
    int GalleryIndexed,
    int GallerySkipped,
    string? ModelName,
    string? ScoringRule,
    string Criterion,
    int MinLevel,
    string ModelManifest,
    string? Error,
    bool Flagged,
    IReadOnlyList<HistoryModel> Models,
    string? GalleryIndex = null)
{
    public bool IsRunning => State == HistoryRunStates.Running;

    public TimeSpan? Duration => FinishedAt - StartedAt;
}

/// <summary>
/// One model's figures in one run. For a scheduled run, <see cref="Scanned"/>..<see cref="Upper"/> cover the images
/// new since the schedule's previous run (the night's ratio) and the cumulative fields all runs of the schedule so far.
/// <see cref="Alert"/> says why the model was flagged, or is null.
/// </summary>
public sealed record HistoryModel(
    string Model,
    string Location,
    int Listed,
    int Done,
    bool ListingComplete,
    int Scanned,
    int Replicas,
    int Skipped,
    double Ratio,
    double Lower,
    double Upper,
    IReadOnlyList<int> Levels,
    IReadOnlyDictionary<string, int> SkipsByReason,
    int CumulativeScanned,
    int CumulativeReplicas,
    string? Alert,
    int? AltReplicas = null)
{
    public double CumulativeRatio => CumulativeScanned == 0 ? 0 : (double)CumulativeReplicas / CumulativeScanned;

    /// <summary>The ratio under the run's other match rule (see the criterion), where the run recorded it.</summary>
    public double? AltRatio => AltReplicas is { } alt && Scanned > 0 ? (double)alt / Scanned : null;

    /// <summary>A model as a run starts: nothing listed or done yet.</summary>
    public static HistoryModel Pending(string model, string location) =>
        new(model, location, 0, 0, false, 0, 0, 0, 0, 0, 1, new int[6], new Dictionary<string, int>(), 0, 0, null);
}

/// <summary>Where a model of a running audit has got to.</summary>
public sealed record HistoryProgress(string Model, int Listed, int Done, bool ListingComplete);

/// <summary>
/// One generated image's best gallery match in a run, with the stamps the two images had when the run read them
/// (null for runs recorded before stamps were kept): the dashboard serves an image only while its stamp is unchanged.
/// </summary>
public sealed record HistoryImage(string Model, string Key, string? GalleryKey, int Level, double Score, string? Stamp = null, string? GalleryStamp = null);

/// <summary>An image a run recorded, and its stamp then (null for runs recorded before stamps were kept).</summary>
public sealed record RecordedItem(string Key, string? Stamp);

/// <summary>One generated image a run could not score, and why.</summary>
public sealed record HistorySkip(string Model, string Key, string Reason, string? Detail);

/// <summary>A page of a run's images: of one model or all, of one level or all, best matches first.</summary>
public sealed record ImageQuery(string RunId, string? Model = null, int? Level = null, int Skip = 0, int Take = 50);

/// <summary>A page of results and the number of results in all pages.</summary>
public sealed record HistoryPage<T>(IReadOnlyList<T> Items, int Total);
