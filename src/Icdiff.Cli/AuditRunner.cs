using System.Diagnostics;
using Icdiff.Core;
using Icdiff.Grains;
using Icdiff.Reporting;

namespace Icdiff.Cli;

/// <summary>Submits a run to the grains, follows its progress and gathers the finished results into a report.</summary>
internal static class AuditRunner
{
    private static readonly TimeSpan ChangeWait = TimeSpan.FromSeconds(5);

    public static async Task<AuditReport> RunAsync(IGrainFactory grains, string runId, AuditRequest request, ProgressDisplay progress, CancellationToken cancellationToken)
    {
        var run = grains.GetGrain<IAuditRunGrain>(runId);
        var status = await ClusterRetry.RunAsync(() => run.StartAsync(request), cancellationToken);
        return await FollowAsync(grains, runId, request, status, progress, cancellationToken);
    }

    /// <summary>Follows a run (started here, or resumed by its grain's activation) to its end and gathers the report.</summary>
    public static async Task<AuditReport> FollowAsync(IGrainFactory grains, string runId, AuditRequest request, RunStatus status, ProgressDisplay progress, CancellationToken cancellationToken)
    {
        var run = grains.GetGrain<IAuditRunGrain>(runId);
        var clock = Stopwatch.StartNew();
        using (cancellationToken.Register(() => _ = run.CancelAsync()))
        {
            while (!status.IsFinished)
            {
                progress.Update(status, clock.Elapsed);
                // The run grain answers as soon as its status changes (a shard done, the end), so the report follows
                // the end at once without polling; a quiet run answers every few seconds with the same status.
                var seen = status.Revision;
                status = await ClusterRetry.RunAsync(() => run.WaitForChangeAsync(seen, ChangeWait), cancellationToken);
            }
        }

        progress.Finish(status, clock.Elapsed);
        if (status.State == RunState.Failed)
        {
            throw new InvalidOperationException($"the audit failed: {status.Error}");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var models = new List<ModelReport>();
        ModelReport? control = null;
        foreach (var model in request.Generated)
        {
            var aggregate = grains.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, model.Model));
            var summary = await ClusterRetry.RunAsync(() => aggregate.GetSummaryAsync(request.MinLevel), cancellationToken);
            var matches = await ClusterRetry.RunAsync(aggregate.GetAllMatchesAsync, cancellationToken);
            var skips = await ClusterRetry.RunAsync(aggregate.GetAllSkipsAsync, cancellationToken);
            var report = new ModelReport(model.Location, summary, matches, skips, null);
            if (model.Model == AuditRequest.ControlModel)
            {
                control = report;
            }
            else
            {
                models.Add(report);
            }
        }

        if (control is not null)
        {
            // A model clears the floor when even its interval's low end lies above the control's false-replica rate.
            var floor = control.Summary.Ratio;
            models = [.. models.Select(m => m with { ClearsControl = m.Summary.Lower > floor })];
        }

        var criterion = new ReplicaCriterion(request.MinLevel, request.Candidates, request.EffectiveMatchRule);
        return new AuditReport(
            runId,
            request.GalleryLocation,
            status.GalleryDone - status.GallerySkipped.Count,
            status.GallerySkipped,
            status.ModelName ?? "?",
            status.ScoringRule ?? "?",
            criterion.Describe(),
            request.MinLevel,
            status.StartedAt ?? DateTimeOffset.UtcNow,
            status.FinishedAt ?? DateTimeOffset.UtcNow,
            models,
            request.EffectiveMatchRule,
            status.GradedLevels,
            control,
            status.GalleryIndex);
    }
}
