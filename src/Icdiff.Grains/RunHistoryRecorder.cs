using Icdiff.Core;
using Icdiff.History;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Icdiff.Grains;

/// <summary>
/// Writes a run into the history as it goes: its start, its progress and, at its end, each model's figures (with the
/// schedule's cumulative figures and the alert rules applied), its scored images and its skips. The history is the
/// record users look at, not the run's own state: a history store that cannot be written is logged and the run goes on.
/// </summary>
public sealed partial class RunHistoryRecorder(
    IRunHistoryStore store,
    IOptions<HistoryOptions> options,
    AlertWebhook webhook,
    ILogger<RunHistoryRecorder> logger)
{
    public IRunHistoryStore Store => store;

    public async Task StartAsync(string runId, AuditRequest request, DateTimeOffset startedAt, string? modelName, string? scoring, string manifest)
    {
        var run = new HistoryRun(
            runId,
            request.Schedule,
            HistoryRunStates.Running,
            startedAt,
            null,
            request.GalleryLocation,
            0,
            0,
            modelName,
            scoring,
            new ReplicaCriterion(request.MinLevel, request.Candidates, request.EffectiveMatchRule).Describe(),
            request.MinLevel,
            manifest,
            null,
            false,
            [.. request.Generated.Select(m => HistoryModel.Pending(m.Model, m.Location))]);
        await GuardAsync(runId, "start", () => store.RecordStartAsync(run));
    }

    public Task ProgressAsync(string runId, IEnumerable<ModelProgress> models) =>
        GuardAsync(runId, "progress", () => store.RecordProgressAsync(runId, HistoryRunStates.Running, [.. models.Select(m => new HistoryProgress(m.Model, m.Listed, m.Done, m.ListingComplete))]));

    /// <summary>Records the end of a run from its aggregates, flags models by the alert rules and calls the webhook for a flagged run.</summary>
    public Task FinishAsync(IGrainFactory grains, RunStatus status, AuditRequest request, string manifest) =>
        GuardAsync(status.RunId, "end", async () =>
        {
            var settings = options.Value;
            var startedAt = status.StartedAt ?? DateTimeOffset.UtcNow;
            var models = new List<HistoryModel>();
            var images = new List<HistoryImage>();
            var skips = new List<HistorySkip>();
            foreach (var corpus in request.Generated)
            {
                var aggregate = grains.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(status.RunId, corpus.Model));
                var summary = await aggregate.GetSummaryAsync(request.MinLevel);
                images.AddRange((await aggregate.GetAllMatchesAsync()).Select(m => new HistoryImage(corpus.Model, m.Key, m.GalleryKey, m.Level, m.Similarity, m.Stamp, m.GalleryStamp)));
                skips.AddRange((await aggregate.GetAllSkipsAsync()).Select(s => new HistorySkip(corpus.Model, s.Key, s.Reason, s.Detail)));
                var progress = status.Models.FirstOrDefault(p => p.Model == corpus.Model);
                var previous = (await store.FindPreviousAsync(request.Schedule, corpus.Model, startedAt))?.Models.FirstOrDefault(m => m.Model == corpus.Model);
                var model = new HistoryModel(
                    corpus.Model,
                    corpus.Location,
                    progress?.Listed ?? summary.Scanned + summary.Skipped,
                    progress?.Done ?? summary.Scanned + summary.Skipped,
                    true,
                    summary.Scanned,
                    summary.Replicas,
                    summary.Skipped,
                    summary.Ratio,
                    summary.Lower,
                    summary.Upper,
                    summary.LevelHistogram,
                    summary.SkipsByReason,
                    summary.Scanned + (request.IsScheduled ? previous?.CumulativeScanned ?? 0 : 0),
                    summary.Replicas + (request.IsScheduled ? previous?.CumulativeReplicas ?? 0 : 0),
                    null,
                    summary.AltRecorded ? summary.AltReplicas : null);
                if (status.State == RunState.Completed && AlertRules.Evaluate(model, previous, settings.LimitFor(corpus.Model)) is { } reason)
                {
                    model = model with { Alert = reason };
                }

                models.Add(model);
            }

            var run = new HistoryRun(
                status.RunId,
                request.Schedule,
                status.State.ToString(),
                startedAt,
                status.FinishedAt ?? DateTimeOffset.UtcNow,
                request.GalleryLocation,
                status.GalleryDone - status.GallerySkipped.Count,
                status.GallerySkipped.Count,
                status.ModelName,
                status.ScoringRule,
                new ReplicaCriterion(request.MinLevel, request.Candidates, request.EffectiveMatchRule).Describe(),
                request.MinLevel,
                manifest,
                status.Error,
                models.Any(m => m.Alert is not null),
                models,
                status.GalleryIndex);
            await store.RecordFinishAsync(run, images, skips);
            if (run.Flagged)
            {
                Log.RunFlagged(logger, status.RunId, string.Join("; ", models.Where(m => m.Alert is not null).Select(m => $"{m.Model}: {m.Alert}")));
                if (settings.WebhookUrl is { } url)
                {
                    var payload = new AlertPayload(run.RunId, run.Schedule, run.FinishedAt!.Value, [.. models.Where(m => m.Alert is not null).Select(m => new AlertedModel(m.Model, m.Ratio, m.Lower, m.Upper, m.Scanned, m.Replicas, m.Alert!))]);
                    await webhook.SendAsync(url, payload, CancellationToken.None);
                }
            }
        });

    private async Task GuardAsync(string runId, string what, Func<Task> write)
    {
        try
        {
            await write();
        }
        catch (Exception ex) when (ex is HistoryStoreException or System.Data.Common.DbException or IOException or TimeoutException)
        {
            Log.NotRecorded(logger, ex, runId, what);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = GrainEventIds.HistoryNotRecorded, Level = LogLevel.Error, Message = "Run {Run}: the history store could not record its {What}; the run goes on")]
        public static partial void NotRecorded(ILogger logger, Exception exception, string run, string what);

        [LoggerMessage(EventId = GrainEventIds.RunFlagged, Level = LogLevel.Warning, Message = "Run {Run} flagged: {Reasons}")]
        public static partial void RunFlagged(ILogger logger, string run, string reasons);
    }
}
