namespace Icdiff.Grains.Tests;

public sealed class AuditRunGrainTests(AuditClusterFixture fixture) : IClassFixture<AuditClusterFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    private AuditRequest Request(int shardSize = 16) => fixture.Corpus.AuditOf(shardSize);

    private async Task<RunStatus> RunToEndAsync(string runId, AuditRequest request)
    {
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        var status = await run.StartAsync(request);
        using var timeout = new CancellationTokenSource(RunTimeout);
        while (!status.IsFinished)
        {
            // Followed as the CLI follows it: the grain answers when the status changes; the timeout bounds the wait.
            timeout.Token.ThrowIfCancellationRequested();
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        Assert.True(status.State == RunState.Completed, $"run ended {status.State}: {status.Error}");
        return status;
    }

    [Fact]
    public async Task Followers_GetEachChangeAsItHappens_WithRisingRevisions_AndAFinishedRunAnswersAtOnce()
    {
        const double MaxWaitSeconds = 8;
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>($"follow-{Guid.NewGuid():N}");
        var status = await run.StartAsync(Request(shardSize: 8));
        var answers = new List<(long Seen, RunStatus Status, TimeSpan Took)>();
        using var timeout = new CancellationTokenSource(RunTimeout);
        while (!status.IsFinished)
        {
            timeout.Token.ThrowIfCancellationRequested();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var next = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(MaxWaitSeconds));
            answers.Add((status.Revision, next, clock.Elapsed));
            status = next;
        }

        Assert.Equal(RunState.Completed, status.State);
        Assert.Equal(fixture.Corpus.Spec.Models.Sum(m => m.Total) + fixture.BadFiles.Count, status.Models.Sum(m => m.Done));
        // Revisions never go back, and an answer with the revision unchanged is only ever the wait running out.
        Assert.All(answers, a => Assert.True(a.Status.Revision >= a.Seen, $"revision {a.Status.Revision} after {a.Seen}"));
        Assert.All(answers.Where(a => a.Status.Revision == a.Seen), a => Assert.True(a.Took.TotalSeconds >= MaxWaitSeconds * 0.9, $"unchanged after {a.Took}"));
        // Progress arrives in steps (shards of 8 images), not only as the end.
        Assert.True(answers.Count(a => a.Status.Revision > a.Seen && !a.Status.IsFinished) >= 2, $"{answers.Count} answers, revisions {string.Join(",", answers.Select(a => a.Status.Revision))}");

        var clockAfter = System.Diagnostics.Stopwatch.StartNew();
        var again = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(MaxWaitSeconds));
        Assert.Equal(status.Revision, again.Revision);
        Assert.True(clockAfter.Elapsed.TotalSeconds < MaxWaitSeconds * 0.9, $"a finished run held the call for {clockAfter.Elapsed}");
    }

    [Fact]
    public async Task Audit_SmallCorpus_CountsEveryImageAndFindsTheCopies()
    {
        var runId = $"e2e-{Guid.NewGuid():N}";
        var status = await RunToEndAsync(runId, Request());

        Assert.Equal(fixture.Corpus.Spec.GallerySize, status.GalleryListed);
        Assert.Empty(status.GallerySkipped);
        var copies = new List<MatchRecord>();
        foreach (var spec in fixture.Corpus.Spec.Models)
        {
            var aggregate = fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, spec.Name));
            var summary = await aggregate.GetSummaryAsync(ReplicaCriterion.DefaultMinLevel);
            var matches = await aggregate.GetMatchesAsync(0, 10_000);
            var skips = await aggregate.GetSkipsAsync(0, 10_000);
            var badFiles = spec.Name == "model-a" ? fixture.BadFiles : new Dictionary<string, string>();

            // Nothing lost, nothing counted twice.
            Assert.Equal(spec.Total, summary.Scanned);
            Assert.Equal(badFiles.Count, summary.Skipped);
            Assert.Equal(spec.Total, matches.Select(m => m.Key).Distinct().Count());
            Assert.Equal(badFiles.OrderBy(b => b.Key), skips.Select(s => new KeyValuePair<string, string>(s.Key, s.Reason)).OrderBy(b => b.Key));

            // Exact copies (level 5) are matched to the very gallery image they copy, and nearly all count as replicas
            // (the built-in descriptor loses a few low-contrast images to JPEG re-encoding; see its documentation).
            var truth = fixture.Corpus.Truth.Where(t => t.Model == spec.Name).ToDictionary(t => t.Key);
            foreach (var match in matches.Where(m => truth[m.Key].Level == 5))
            {
                Assert.Equal(truth[match.Key].SourceKey, match.GalleryKey);
                copies.Add(match);
            }

            var trueRate = spec.TrueRate(ReplicationLevels.Total - 1);
            Assert.InRange(trueRate, summary.Lower, summary.Upper);
        }

        Assert.True(copies.Count >= 5, $"only {copies.Count} exact copies in the corpus");
        Assert.True(copies.Count(m => m.Level >= 4) >= 0.75 * copies.Count, $"{copies.Count(m => m.Level >= 4)} of {copies.Count} copies reached level 4");
    }

    [Fact]
    public async Task Audit_RepeatedWithSameGallery_EmbedsNothingNewAndGivesSameMatches()
    {
        var first = $"repeat-a-{Guid.NewGuid():N}";
        var second = $"repeat-b-{Guid.NewGuid():N}";
        await RunToEndAsync(first, Request(shardSize: 7));
        var status = await RunToEndAsync(second, Request(shardSize: 23));

        Assert.Equal(0, status.GalleryEmbedded);
        foreach (var model in fixture.Corpus.Spec.Models)
        {
            var a = await fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>($"{first}/{model.Name}").GetMatchesAsync(0, 10_000);
            var b = await fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>($"{second}/{model.Name}").GetMatchesAsync(0, 10_000);
            Assert.Equal(a.OrderBy(m => m.Key), b.OrderBy(m => m.Key));
        }
    }

    [Fact]
    public async Task ModelAggregate_CountsEachItemOnce_WhateverDeliveriesRepeat()
    {
        var aggregate = fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>($"dup-{Guid.NewGuid():N}/m");
        var delivery = new ShardResult("m", 0, [new MatchRecord("a.png", "g.png", 5, 0.99f), new MatchRecord("b.png", "h.png", 1, 0.5f)], [new SkipRecord("c.png", "Corrupt", "bad")], "0000000-first-00000");

        Assert.Equal(3, await aggregate.ReportAsync(delivery));
        // The same delivery again (a retried call): nothing changes.
        Assert.Equal(3, await aggregate.ReportAsync(delivery));
        // A retried shard delivers the same items again under another id, plus one more: only the new one counts.
        Assert.Equal(4, await aggregate.ReportAsync(delivery with { DeliveryId = "0000000-second-00000", Matches = [.. delivery.Matches, new MatchRecord("d.png", null, 0, 0)] }));
        // A failed item that succeeds on retry replaces its skip; a later skip never replaces a match.
        Assert.Equal(4, await aggregate.ReportAsync(new ShardResult("m", 0, [new MatchRecord("c.png", "k.png", 2, 0.7f)], [new SkipRecord("a.png", "Corrupt", "bad")], "0000000-third-00000")));
        var summary = await aggregate.GetSummaryAsync(4);

        Assert.Equal(4, summary.Scanned);
        Assert.Equal(1, summary.Replicas);
        Assert.Equal(0, summary.Skipped);
        Assert.Equal([1, 1, 1, 0, 0, 1], summary.LevelHistogram);
        Assert.Equal(["a.png", "b.png", "c.png", "d.png"], (await aggregate.GetMatchesAsync(0, 100)).Select(m => m.Key));
        Assert.Equal(4, (await aggregate.GetRecordedKeysAsync(matchedOnly: true)).Count);
    }

    [Fact]
    public async Task ResumeWithRetryFailed_RerunsOnlySkippedItems_AndCountsThemOnce()
    {
        // A copy of model-a's corpus (its bad files included), so mending one file leaves the shared corpus as it is.
        var folder = Directory.CreateTempSubdirectory("icdiff-retry-").FullName;
        foreach (var file in Directory.EnumerateFiles(fixture.Corpus.ModelPaths["model-a"]))
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        }

        var request = Request() with { Generated = [new ModelCorpus("model-a", folder)] };
        var runId = $"retry-{Guid.NewGuid():N}";
        await RunToEndAsync(runId, request);
        var aggregate = fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, "model-a"));
        var before = await aggregate.GetSummaryAsync(ReplicaCriterion.DefaultMinLevel);
        var matchesBefore = await aggregate.GetMatchesAsync(0, 10_000);
        Assert.True(before.Skipped >= 1, "the corpus has no bad file to retry");

        // Mend one failed item: its name now holds a copy of an image that was matched.
        var mended = (await aggregate.GetSkipsAsync(0, 10_000))[0].Key;
        var donor = matchesBefore.First(m => m.GalleryKey is not null);
        File.Copy(Path.Combine(folder, donor.Key), Path.Combine(folder, mended), overwrite: true);

        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        var status = await run.ResumeAsync(retryFailed: true);
        using var timeout = new CancellationTokenSource(RunTimeout);
        while (!status.IsFinished)
        {
            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        var after = await aggregate.GetSummaryAsync(ReplicaCriterion.DefaultMinLevel);
        var matchesAfter = await aggregate.GetMatchesAsync(0, 10_000);
        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(before.Scanned + 1, after.Scanned);
        Assert.Equal(before.Skipped - 1, after.Skipped);
        Assert.Equal(matchesBefore, matchesAfter.Where(m => m.Key != mended));
        var retried = Assert.Single(matchesAfter, m => m.Key == mended);
        Assert.Equal(donor.GalleryKey, retried.GalleryKey);
        Assert.Equal(donor.Level, retried.Level);
    }

    [Fact]
    public async Task Audit_MissingGalleryFolder_FailsWithClearError()
    {
        var request = Request() with { GalleryLocation = Path.Combine(fixture.Corpus.Root, "no-such-folder") };
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>($"missing-{Guid.NewGuid():N}");
        var status = await run.StartAsync(request);
        using var timeout = new CancellationTokenSource(RunTimeout);
        while (!status.IsFinished)
        {
            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        Assert.Equal(RunState.Failed, status.State);
        Assert.Contains("does not exist", status.Error, StringComparison.Ordinal);
    }

    /// <summary>The audit's own traces and metrics, seen by listeners as an OpenTelemetry SDK would see them.</summary>
    [Fact]
    public async Task Audit_EmitsShardTraces_AndStageAndPerModelMetrics()
    {
        var runId = $"otel-{Guid.NewGuid():N}";
        var shards = new System.Collections.Concurrent.ConcurrentBag<System.Diagnostics.Activity>();
        var measurements = new System.Collections.Concurrent.ConcurrentBag<(string Instrument, long Value, string Tags)>();
        using var activities = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == IcdiffTelemetry.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.OperationName == "icdiff.shard.scan" && (string?)activity.GetTagItem("icdiff.run") == runId)
                {
                    shards.Add(activity);
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(activities);
        using var meters = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == IcdiffTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measurements.Add((instrument.Name, value, string.Join(',', tags.ToArray().Select(t => $"{t.Key}={t.Value}")))));
        meters.Start();

        var request = Request();
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        var status = await run.StartAsync(request);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        while (!status.IsFinished)
        {
            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        Assert.Equal(RunState.Completed, status.State);
        var total = fixture.Corpus.Spec.Models.Sum(m => m.Total) + fixture.BadFiles.Count;
        Assert.Equal(total, shards.Sum(a => (int)a.GetTagItem("icdiff.items")!));
        Assert.All(shards, a => Assert.Contains((string)a.GetTagItem("icdiff.model")!, fixture.Corpus.Spec.Models.Select(m => m.Name)));
        // Counters are process-wide (other tests run audits too): this run's per-model items are told apart by model
        // name only across runs, so check that each model's recorded items reach at least its corpus size.
        foreach (var model in fixture.Corpus.Spec.Models)
        {
            var recorded = measurements.Where(m => m.Instrument == "icdiff.audit.items" && m.Tags.Contains($"model={model.Name}", StringComparison.Ordinal)).Sum(m => m.Value);
            Assert.True(recorded >= model.Total, $"{model.Name}: {recorded} items recorded in metrics, corpus has {model.Total}");
        }

        Assert.Contains(measurements, m => m.Instrument == "icdiff.pipeline.images" && m.Tags == "stage=embedded");
        Assert.Contains(measurements, m => m.Instrument == "icdiff.pipeline.skipped" && m.Tags.StartsWith("reason=", StringComparison.Ordinal));
    }
}
