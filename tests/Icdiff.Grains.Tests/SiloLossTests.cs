namespace Icdiff.Grains.Tests;

/// <summary>A three-silo in-process cluster whose silos share a data directory (run store and gallery snapshots), as silos on one machine do.</summary>
public sealed class ThreeSiloFixture() : DemoClusterFixture(DataDirectory, 23)
{
    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-3silo-{Guid.NewGuid():N}");

    protected override Task<TestCluster> DeployAsync() => TestClusters.DeployAsync<Configurator>(3);

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o =>
            {
                o.DataDirectory = DataDirectory;
                o.ShardAttempts = 10;
            });
            siloBuilder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
            siloBuilder.AddAuditSilo();
        }
    }
}

public sealed class SiloLossTests(ThreeSiloFixture fixture) : IClassFixture<ThreeSiloFixture>
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(6);

    private AuditRequest Request() => fixture.Corpus.AuditOf(shardSize: 2);

    private async Task<RunStatus> WaitAsync(string runId, Func<RunStatus, bool> until)
    {
        using var timeout = new CancellationTokenSource(RunTimeout);
        var seen = -1L;
        while (true)
        {
            RunStatus status;
            try
            {
                // A status call also re-activates (and so resumes) a run whose silo was lost; it answers as soon as
                // the status changes (a new activation counts its revisions afresh, so it answers at once).
                timeout.Token.ThrowIfCancellationRequested();
                status = await fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId).WaitForChangeAsync(seen, TimeSpan.FromSeconds(5));
                seen = status.Revision;
            }
            catch (Exception ex) when (ex is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
            {
                await Task.Delay(200, timeout.Token);
                continue;
            }

            if (until(status))
            {
                return status;
            }
        }
    }

    private async Task<string> ResultAsync(string runId, AuditRequest request)
    {
        var lines = new List<string>();
        foreach (var model in request.Generated)
        {
            var aggregate = fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>($"{runId}/{model.Model}");
            var s = await aggregate.GetSummaryAsync(request.MinLevel);
            lines.Add($"{s.Model} scanned {s.Scanned} replicas {s.Replicas} skipped {s.Skipped} levels {string.Join('/', s.LevelHistogram)} shards {s.Shards}");
            lines.AddRange((await aggregate.GetMatchesAsync(0, 100_000)).Select(m => $"{m.Key} -> {m.GalleryKey} {m.Level} {m.Similarity:0.000000}").Order(StringComparer.Ordinal));
        }

        return string.Join('\n', lines);
    }

    [Fact]
    public async Task Audit_WithAWorkerSiloKilledPartWay_GivesTheResultOfAnUninterruptedRun()
    {
        var request = Request();
        var reference = $"whole-{Guid.NewGuid():N}";
        await fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(reference).StartAsync(request);
        var done = await WaitAsync(reference, s => s.IsFinished);
        Assert.Equal(RunState.Completed, done.State);

        await EnsureThreeSilosAsync();
        var interrupted = $"killed-{Guid.NewGuid():N}";
        await fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(interrupted).StartAsync(request);
        var midway = await WaitAsync(interrupted, s => s.IsFinished || s.Models.Sum(m => m.Done) >= 10);
        Assert.False(midway.IsFinished, "the run finished before a silo could be killed; the test proves nothing");
        var victim = fixture.Cluster.SecondarySilos[^1];
        await fixture.Cluster.KillSiloAsync(victim, TestContext.Current.CancellationToken);

        var finished = await WaitAsync(interrupted, s => s.IsFinished);

        Assert.True(finished.State == RunState.Completed, $"{finished.State}: {finished.Error}");
        Assert.Equal(await ResultAsync(reference, request), await ResultAsync(interrupted, request));
        Assert.Equal(fixture.Corpus.Spec.Models.Sum(m => m.Total), finished.Models.Sum(m => m.Done));
    }

    [Fact]
    public async Task CancelledRun_StopsDispatching_AndStaysCancelled()
    {
        var request = Request();
        var runId = $"cancel-{Guid.NewGuid():N}";
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        await run.StartAsync(request);
        await WaitAsync(runId, s => s.State == RunState.Scanning || s.IsFinished);

        await run.CancelAsync();
        var cancelled = await run.GetStatusAsync();
        var recordedAtCancel = await RecordedCountAsync(runId, request);
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);

        Assert.Equal(RunState.Cancelled, cancelled.State);
        Assert.True(cancelled.Models.Sum(m => m.Done) < fixture.Corpus.Spec.Models.Sum(m => m.Total), "the run had finished before it was cancelled");
        Assert.Equal(recordedAtCancel, await RecordedCountAsync(runId, request));
        Assert.Equal(RunState.Cancelled, (await run.GetStatusAsync()).State);
    }

    [Fact]
    public async Task Audit_WithAWorkerSiloKilledDuringGalleryIndexing_GivesTheResultOfAnUninterruptedRun()
    {
        // A gallery of its own (a copy under a new path), so this run indexes it from scratch rather than reusing an index.
        var gallery = Path.Combine(ThreeSiloFixture.DataDirectory, $"gallery-{Guid.NewGuid():N}");
        Directory.CreateDirectory(gallery);
        foreach (var file in Directory.EnumerateFiles(fixture.Corpus.GalleryPath))
        {
            File.Copy(file, Path.Combine(gallery, Path.GetFileName(file)));
        }

        var reference = $"whole-{Guid.NewGuid():N}";
        var referenceRequest = Request() with { ShardSize = 1 };
        await fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(reference).StartAsync(referenceRequest);
        Assert.Equal(RunState.Completed, (await WaitAsync(reference, s => s.IsFinished)).State);

        await EnsureThreeSilosAsync();
        var request = referenceRequest with { GalleryLocation = gallery };
        var interrupted = $"gallerykill-{Guid.NewGuid():N}";
        await fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(interrupted).StartAsync(request);
        var midway = await WaitAsync(interrupted, s => s.IsFinished || s.State == RunState.Scanning || s.GalleryEmbedded >= 20);
        Assert.True(midway.State == RunState.IndexingGallery, $"the gallery was indexed before a silo could be killed ({midway.State}); the test proves nothing");
        await fixture.Cluster.KillSiloAsync(fixture.Cluster.SecondarySilos[^1], TestContext.Current.CancellationToken);

        var finished = await WaitAsync(interrupted, s => s.IsFinished);

        Assert.True(finished.State == RunState.Completed, $"{finished.State}: {finished.Error}");
        Assert.Equal(fixture.Corpus.Spec.GallerySize, finished.GalleryListed);
        Assert.Equal(fixture.Corpus.Spec.GallerySize, finished.GalleryDone);
        Assert.Equal(await ResultAsync(reference, referenceRequest), await ResultAsync(interrupted, request));
    }

    [Fact]
    public async Task FiveAuditsSubmittedAtOnce_EachGiveTheResultOfARunAlone()
    {
        var request = Request() with { ShardSize = 4 };
        var alone = $"alone-{Guid.NewGuid():N}";
        await fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(alone).StartAsync(request);
        Assert.Equal(RunState.Completed, (await WaitAsync(alone, s => s.IsFinished)).State);
        var expected = await ResultAsync(alone, request);

        var runs = Enumerable.Range(0, 5).Select(i => $"load{i}-{Guid.NewGuid():N}").ToArray();
        await Task.WhenAll(runs.Select(id => fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(id).StartAsync(request)));
        var statuses = await Task.WhenAll(runs.Select(id => WaitAsync(id, s => s.IsFinished)));

        Assert.All(statuses, s => Assert.True(s.State == RunState.Completed, $"{s.RunId}: {s.State} {s.Error}"));
        foreach (var id in runs)
        {
            Assert.Equal(expected, await ResultAsync(id, request));
        }
    }

    /// <summary>Kill tests take a silo each; start a replacement so that every such test runs on three silos.</summary>
    private async Task EnsureThreeSilosAsync()
    {
        while (fixture.Cluster.GetActiveSilos().Count() < 3)
        {
            await fixture.Cluster.StartAdditionalSiloAsync();
        }

        await fixture.Cluster.WaitForLivenessToStabilizeAsync();
    }

    private async Task<int> RecordedCountAsync(string runId, AuditRequest request)
    {
        var total = 0;
        foreach (var model in request.Generated)
        {
            total += (await fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, model.Model)).GetRecordedKeysAsync(matchedOnly: false)).Count;
        }

        return total;
    }
}
