using Icdiff.History;

namespace Icdiff.Grains.Tests;

/// <summary>Runs written into the history as they go, schedules firing from reminders, alerts and their webhook.</summary>
public sealed class HistoryTests(HistoryClusterFixture fixture) : IClassFixture<HistoryClusterFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task An_ad_hoc_run_is_recorded_from_start_to_end_and_flagged_above_its_limit_with_a_webhook_call()
    {
        var ct = TestContext.Current.CancellationToken;
        var runId = $"adhoc-{Guid.NewGuid():N}";
        var request = fixture.Corpus.AuditOf(16);
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        await run.StartAsync(request);

        // Recorded as running before StartAsync returns, so a dashboard shows it at once.
        var started = await fixture.Store.GetRunAsync(runId, ct);
        Assert.NotNull(started);
        Assert.True(started.IsRunning);
        Assert.Equal(["model-a", "model-b"], started.Models.Select(m => m.Model));

        var recorded = await WaitForAsync(async () => await fixture.Store.GetRunAsync(runId, ct) is { IsRunning: false } r ? r : null, ct);
        Assert.Equal(HistoryRunStates.Completed, recorded.State);
        Assert.NotNull(recorded.FinishedAt);
        Assert.Contains("icdiff-builtin-descriptor", recorded.ModelManifest, StringComparison.Ordinal);
        Assert.Equal(fixture.Corpus.Spec.GallerySize, recorded.GalleryIndexed);
        foreach (var spec in fixture.Corpus.Spec.Models)
        {
            var aggregate = fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, spec.Name));
            var summary = await aggregate.GetSummaryAsync(ReplicaCriterion.DefaultMinLevel);
            var model = recorded.Models.Single(m => m.Model == spec.Name);
            Assert.Equal((summary.Scanned, summary.Replicas, summary.Ratio, summary.Lower, summary.Upper), (model.Scanned, model.Replicas, model.Ratio, model.Lower, model.Upper));
            Assert.Equal(summary.LevelHistogram, model.Levels);
            var images = await fixture.Store.GetImagesAsync(new ImageQuery(runId, spec.Name, Take: 10_000), ct);
            Assert.Equal(spec.Total, images.Total);
            Assert.Equal(summary.Replicas, images.Items.Count(i => i.Level >= ReplicaCriterion.DefaultMinLevel));
        }

        // model-b's limit is 1%: its ratio (about 10%) is above it, so the run is flagged and the webhook told; model-a has no limit.
        Assert.True(recorded.Flagged);
        Assert.Contains("above the limit 1.0%", recorded.Models.Single(m => m.Model == "model-b").Alert, StringComparison.Ordinal);
        Assert.Null(recorded.Models.Single(m => m.Model == "model-a").Alert);
        // The webhook is called after the end is stored: wait for it.
        var call = await WaitForAsync(() => Task.FromResult(fixture.WebhookCalls.Select(c => System.Text.Json.JsonDocument.Parse(c)).SingleOrDefault(d => d.RootElement.GetProperty("runId").GetString() == runId)), ct);
        Assert.Equal("model-b", Assert.Single(call.RootElement.GetProperty("models").EnumerateArray()).GetProperty("model").GetString());
    }

    [Fact]
    public async Task A_schedule_fires_from_its_reminder_and_each_later_run_audits_only_the_images_added_since()
    {
        var ct = TestContext.Current.CancellationToken;
        var first = await WaitForAsync(async () => (await ScheduledRunsAsync(ct)).FirstOrDefault(r => r.State == HistoryRunStates.Completed), ct);
        var firstModel = first.Models.Single();
        Assert.Equal(20, firstModel.Scanned + firstModel.Skipped);
        var firstKeys = (await fixture.Store.GetImagesAsync(new ImageQuery(first.RunId, Take: 1000), ct)).Items.Select(i => i.Key).ToHashSet();

        // Images arrive between runs (as a nightly generation job would add them), each whole: written beside the
        // folder and renamed in, so a tick listing the folder mid-copy never sees half a file (it would be a skip).
        foreach (var image in fixture.HeldBack)
        {
            var arriving = Path.Combine(Path.GetDirectoryName(HistoryClusterFixture.ScheduledFolder)!, $"arriving-{Path.GetFileName(image)}");
            File.Copy(image, arriving);
            File.Move(arriving, Path.Combine(HistoryClusterFixture.ScheduledFolder, Path.GetFileName(image)));
        }

        // Later runs together process exactly the added images, each once, however the copy and the ticks interleave.
        var added = fixture.HeldBack.Select(Path.GetFileName).ToHashSet();
        var later = await WaitForAsync(async () =>
        {
            var runs = (await ScheduledRunsAsync(ct)).Where(r => r.State == HistoryRunStates.Completed && r.StartedAt > first.StartedAt).ToList();
            return runs.Sum(r => r.Models.Single().Scanned + r.Models.Single().Skipped) >= added.Count ? runs : null;
        }, ct);
        var seen = new List<string>();
        foreach (var run in later)
        {
            var keys = (await fixture.Store.GetImagesAsync(new ImageQuery(run.RunId, Take: 1000), ct)).Items.Select(i => i.Key).ToList();
            Assert.All(keys, k => Assert.Contains(k, added));
            seen.AddRange(keys);
        }

        Assert.Equal(added.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        Assert.Empty(firstKeys.Intersect(seen));

        // The history holds one point per run; the cumulative figures add the runs up.
        var second = later.OrderBy(r => r.StartedAt).First(r => r.Models.Single().Scanned > 0);
        Assert.Equal(HistoryClusterFixture.ScheduleName, second.Schedule);
        var last = later.OrderBy(r => r.StartedAt).Last();
        Assert.Equal(20 + added.Count, last.Models.Single().CumulativeScanned);
        Assert.True((await ScheduledRunsAsync(ct)).Count(r => r.State == HistoryRunStates.Completed) >= 2);
    }

    [Fact]
    public async Task Run_now_starts_a_scheduled_run_unless_one_is_under_way_and_an_unknown_schedule_is_refused()
    {
        var schedule = fixture.Cluster.GrainFactory.GetGrain<IScheduleGrain>(HistoryClusterFixture.ScheduleName);
        var started = await WaitForAsync(async () => await schedule.RunNowAsync(), TestContext.Current.CancellationToken);
        Assert.StartsWith(HistoryClusterFixture.ScheduleName + "-", started, StringComparison.Ordinal);
        if (await schedule.RunNowAsync() is { } second)
        {
            // The schedule's tiny corpus can be audited between the two calls on a warm cluster; a second run is then
            // right, but only after the first one ended.
            var (first, next) = await WaitForAsync(
                async () => (await ScheduledRunsAsync(TestContext.Current.CancellationToken)) is var runs
                    && runs.FirstOrDefault(r => r.RunId == started) is { FinishedAt: not null } a
                    && runs.FirstOrDefault(r => r.RunId == second) is { } b ? Tuple.Create(a, b) : null,
                TestContext.Current.CancellationToken);
            Assert.True(first.FinishedAt <= next.StartedAt, $"run {second} started at {next.StartedAt:O} while {started} was under way (it ended at {first.FinishedAt:O})");
        }

        var unknown = fixture.Cluster.GrainFactory.GetGrain<IScheduleGrain>("no-such-schedule");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(unknown.RunNowAsync);
        Assert.Contains("no schedule 'no-such-schedule'", error.Message, StringComparison.Ordinal);
    }

    private async Task<List<HistoryRun>> ScheduledRunsAsync(CancellationToken ct) =>
        [.. (await fixture.Store.ListRunsAsync(1000, ct)).Where(r => r.Schedule == HistoryClusterFixture.ScheduleName).OrderBy(r => r.StartedAt)];

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, CancellationToken ct)
        where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Patience);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(200, timeout.Token);
        }
    }
}
