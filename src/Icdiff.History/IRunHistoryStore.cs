namespace Icdiff.History;

/// <summary>
/// The run history: every run's request, progress and figures, and every scored image's best match, kept across
/// runs so a dashboard can draw ratios over time and a schedule can tell new images from old.
/// </summary>
public interface IRunHistoryStore
{
    /// <summary>Where the store is, safe to print (no password).</summary>
    string Description { get; }

    /// <summary>Brings the schema up to this build's version; safe to call from several processes at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>Records a run as started (again, for a resumed run: its figures are reset to its new progress).</summary>
    Task RecordStartAsync(HistoryRun run, CancellationToken cancellationToken = default);

    Task RecordProgressAsync(string runId, string state, IReadOnlyList<HistoryProgress> models, CancellationToken cancellationToken = default);

    /// <summary>Records a run's end: its figures, its images and skips (replacing any recorded before), in one transaction.</summary>
    Task RecordFinishAsync(HistoryRun run, IReadOnlyList<HistoryImage> images, IReadOnlyList<HistorySkip> skips, CancellationToken cancellationToken = default);

    /// <summary>The latest runs, newest first.</summary>
    Task<IReadOnlyList<HistoryRun>> ListRunsAsync(int limit = 500, CancellationToken cancellationToken = default);

    Task<HistoryRun?> GetRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The completed run before <paramref name="before"/> to compare a run with: of the same schedule for a scheduled
    /// run, otherwise the latest run that audited <paramref name="model"/>.
    /// </summary>
    Task<HistoryRun?> FindPreviousAsync(string? schedule, string model, DateTimeOffset before, CancellationToken cancellationToken = default);

    /// <summary>The latest run of a schedule, finished or not.</summary>
    Task<HistoryRun?> GetLatestOfScheduleAsync(string schedule, CancellationToken cancellationToken = default);

    Task<HistoryPage<HistoryImage>> GetImagesAsync(ImageQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// A scored image of a run (<paramref name="model"/>'s, or with <paramref name="model"/> null a gallery image some
    /// scored image matched) and the stamp it had when the run read it; null when the run recorded no such image.
    /// </summary>
    Task<RecordedItem?> FindRecordedAsync(string runId, string? model, string key, CancellationToken cancellationToken = default);

    Task<HistoryPage<HistorySkip>> GetSkipsAsync(string runId, int skip, int take, CancellationToken cancellationToken = default);

    /// <summary>Keys of a model's images that completed runs of a schedule recorded (scored or skipped): a scheduled run does not process them again.</summary>
    Task<IReadOnlyList<string>> GetProcessedKeysAsync(string schedule, string model, CancellationToken cancellationToken = default);
}

/// <summary>The history store cannot be opened, migrated or written; the message says what to do.</summary>
public sealed class HistoryStoreException(string message, Exception? inner = null) : Exception(message, inner);
