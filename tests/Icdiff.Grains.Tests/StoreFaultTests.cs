namespace Icdiff.Grains.Tests;

/// <summary>
/// The data directory fills up mid-run: every write of the run store fails as a full disk fails. The run ends
/// failed, saying why; once space is back, resuming it gives the result of an uninterrupted run, nothing counted
/// twice. The store is the real file store behind a switch that makes its writes fail (the code under test is
/// what the grains do with a failing store). The same store can be wiped under the grains, as a Redis restarted
/// without its data is.
/// </summary>
public sealed class StoreFaultTests : IAsyncLifetime
{
    private static readonly string DataDirectory = Path.Combine(Path.GetTempPath(), $"icdiff-diskfull-{Guid.NewGuid():N}");
    private static readonly FailingSwitch Full = new();
    private TestCluster _cluster = null!;
    private DemoCorpus _corpus = null!;

    public async ValueTask InitializeAsync()
    {
        _corpus = DemoCorpusBuilder.Build(Path.Combine(DataDirectory, "corpus"), DemoCorpusSpec.Small(43));
        _cluster = await TestClusters.DeployAsync<Configurator>(1);
    }

    public async ValueTask DisposeAsync() => await TestClusters.TearDownAsync(_cluster, DataDirectory);

    [Fact]
    public async Task DataDirectoryFullMidRun_FailsTheRun_AndResumingAfterwardsGivesTheUninterruptedResult()
    {
        var request = _corpus.AuditOf(2);
        var reference = $"whole-{Guid.NewGuid():N}";
        Assert.Equal(RunState.Completed, (await RunAsync(reference, r => r.StartAsync(request), _ => false)).State);

        var runId = $"full-{Guid.NewGuid():N}";
        var failed = await RunAsync(runId, r => r.StartAsync(request), s =>
        {
            // The disk fills once some items are recorded.
            if (s.Models.Sum(m => m.Done) >= 6)
            {
                Full.On = true;
            }

            return false;
        });
        Full.On = false;
        var total = _corpus.Spec.Models.Sum(m => m.Total);
        Assert.Equal(RunState.Failed, failed.State);
        Assert.Contains("No space left on device", failed.Error, StringComparison.Ordinal);
        Assert.InRange(failed.Models.Sum(m => m.Done), 6, total - 1);

        var resumed = await RunAsync(runId, r => r.ResumeAsync(retryFailed: false), _ => false);

        Assert.True(resumed.State == RunState.Completed, $"{resumed.State}: {resumed.Error}");
        Assert.Equal(total, resumed.Models.Sum(m => m.Done));
        Assert.Equal(await ResultAsync(reference, request), await ResultAsync(runId, request));
        // This run's files only: an ended run of another test keeps rewriting its own, each through a temporary file.
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(DataDirectory, "runs"), "*.tmp", SearchOption.AllDirectories), f => f.Contains(runId, StringComparison.Ordinal));
    }

    /// <summary>
    /// The store loses everything just after a run ended (a Redis restarted empty): the ended run's activation, still
    /// live, writes its record and every item back, so the run is not lost with the store.
    /// </summary>
    [Fact]
    public async Task StoreWipedJustAfterTheRunEnded_TheEndedRunWritesItsRecordAndItemsBack()
    {
        var request = _corpus.AuditOf(2);
        var runId = $"wiped-{Guid.NewGuid():N}";
        Assert.Equal(RunState.Completed, (await RunAsync(runId, r => r.StartAsync(request), _ => false)).State);
        var expected = await ResultAsync(runId, request);
        var total = _corpus.Spec.Models.Sum(m => m.Total);
        var files = new FileRunStore(DataDirectory);

        Directory.Delete(Path.Combine(DataDirectory, "runs"), recursive: true);
        Interlocked.Increment(ref Full.Generation);
        Assert.Null(await files.LoadRunAsync(runId));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && !(await files.LoadRunAsync(runId) is not null && await StoredItemsAsync(files, runId, request) == total))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        var record = await files.LoadRunAsync(runId);
        Assert.NotNull(record);
        Assert.Equal(RunState.Completed, record.State);
        Assert.Equal(total, await StoredItemsAsync(files, runId, request));
        // A later activation reading only the store (the aggregates' activations gone) gives the same result.
        foreach (var model in request.Generated)
        {
            var stored = await files.LoadShardsAsync(ModelAggregateKey.For(runId, model.Model));
            Assert.NotEmpty(stored);
        }

        Assert.Equal(expected, await ResultAsync(runId, request));
    }

    private static async Task<int> StoredItemsAsync(FileRunStore files, string runId, AuditRequest request)
    {
        var count = 0;
        foreach (var model in request.Generated)
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var delivery in await files.LoadShardsAsync(ModelAggregateKey.For(runId, model.Model)))
            {
                keys.UnionWith(delivery.Matches.Select(m => m.Key));
                keys.UnionWith(delivery.Skipped.Select(k => k.Key));
            }

            count += keys.Count;
        }

        return count;
    }

    private async Task<RunStatus> RunAsync(string runId, Func<IAuditRunGrain, Task<RunStatus>> start, Func<RunStatus, bool> onProgress)
    {
        var run = _cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        var status = await start(run);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        while (!status.IsFinished)
        {
            onProgress(status);
            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        return status;
    }

    private async Task<string> ResultAsync(string runId, AuditRequest request)
    {
        var lines = new List<string>();
        foreach (var model in request.Generated)
        {
            var aggregate = _cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, model.Model));
            var s = await aggregate.GetSummaryAsync(request.MinLevel);
            lines.Add($"{s.Model} scanned {s.Scanned} replicas {s.Replicas} skipped {s.Skipped} levels {string.Join('/', s.LevelHistogram)}");
            lines.AddRange((await aggregate.GetMatchesAsync(0, 100_000)).Select(m => $"{m.Key} -> {m.GalleryKey} {m.Level} {m.Similarity:0.000000}"));
        }

        return string.Join('\n', lines);
    }

    private sealed class FailingSwitch
    {
        public volatile bool On;

        /// <summary>Grows when the test wipes the store (what a Redis store reports when it finds its data gone).</summary>
        public long Generation;
    }

    /// <summary>The file store, with writes failing while the switch is on, as they fail on a full disk.</summary>
    private sealed class FillingUpRunStore(FileRunStore inner) : IRunStore
    {
        public Task<bool> SaveRunAsync(RunRecord record) => Full.On ? Task.FromException<bool>(DiskFull()) : inner.SaveRunAsync(record);

        public Task<RunRecord?> LoadRunAsync(string runId) => inner.LoadRunAsync(runId);

        public Task<IReadOnlyList<RunRecord>> ListRunsAsync() => inner.ListRunsAsync();

        public Task<bool> SaveShardAsync(string aggregateKey, ShardResult result) => Full.On ? Task.FromException<bool>(DiskFull()) : inner.SaveShardAsync(aggregateKey, result);

        public Task<IReadOnlyList<ShardResult>> LoadShardsAsync(string aggregateKey) => inner.LoadShardsAsync(aggregateKey);

        public long Generation => Interlocked.Read(ref Full.Generation);

        private static IOException DiskFull() => new("No space left on device", 28);
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddSingleton<IRunStore>(new FillingUpRunStore(new FileRunStore(DataDirectory)));
            siloBuilder.Services.Configure<AuditSiloOptions>(o =>
            {
                o.DataDirectory = DataDirectory;
                o.MaxShardsInFlight = 2;
            });
            siloBuilder.Services.AddLogging(l => l.AddFilter("Icdiff", LogLevel.Critical));
            siloBuilder.AddAuditSilo();
        }
    }
}
