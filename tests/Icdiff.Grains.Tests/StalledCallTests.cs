namespace Icdiff.Grains.Tests;

/// <summary>
/// Two silos whose worker calls can be held: an incoming-call filter keeps one chosen shard's first scan call waiting
/// until the test lets it go, as a message lost while Orleans' directory settles would (measured on two silo processes
/// restarted on their old addresses: one scan call never answered, and the run waited out the 10-minute response timeout).
/// </summary>
public sealed class StalledCallFixture() : DemoClusterFixture(DataDirectory, 29)
{
    internal const int HeldShard = 3;

    internal static string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"icdiff-stall-{Guid.NewGuid():N}");

    /// <summary>Set when the held call arrives; completed by the test (or at teardown) to let it go.</summary>
    internal static TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal static int Held;

    internal static string? HoldRun;

    protected override async ValueTask DisposeAsyncCore()
    {
        Release.TrySetResult();
        await base.DisposeAsyncCore();
    }

    protected override Task<TestCluster> DeployAsync() => TestClusters.DeployAsync<Configurator>(2);

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.Configure<AuditSiloOptions>(o =>
            {
                o.DataDirectory = DataDirectory;
                o.StalledCallFloor = TimeSpan.FromSeconds(2);
                o.MaxShardsInFlight = 2;
            });
            // The production setting: long enough for the slowest shard, far too long to wait out a lost message.
            siloBuilder.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(10));
            siloBuilder.AddIncomingGrainCallFilter(async context =>
            {
                if (context.InterfaceMethod?.Name == nameof(IWorkerGrain.ScanAsync)
                    && context.Request.GetArgument(0) is ScanShard { ShardIndex: HeldShard } shard
                    && shard.RunId == Volatile.Read(ref HoldRun)
                    && Interlocked.Exchange(ref Held, 1) == 0)
                {
                    await Release.Task;
                }

                await context.Invoke();
            });
            siloBuilder.AddAuditSilo();
        }
    }
}

public sealed class StalledCallTests(StalledCallFixture fixture) : IClassFixture<StalledCallFixture>
{
    [Fact]
    public async Task AScanCallThatNeverAnswers_IsSentAgainElsewhere_AndTheRunEndsWithTheResultOfAnUnhinderedRun()
    {
        var token = TestContext.Current.CancellationToken;
        var request = fixture.Corpus.AuditOf(shardSize: 2);
        var clean = await RunToEndAsync($"clean-{Guid.NewGuid():N}", request, token);
        Assert.Equal(0, Volatile.Read(ref StalledCallFixture.Held));

        var heldRun = $"held-{Guid.NewGuid():N}";
        Volatile.Write(ref StalledCallFixture.HoldRun, heldRun);
        var held = await RunToEndAsync(heldRun, request, token);

        // The held call was still waiting when the run ended: the run did not wait for it.
        Assert.Equal(1, Volatile.Read(ref StalledCallFixture.Held));
        Assert.False(StalledCallFixture.Release.Task.IsCompleted);
        Assert.Equal(await ResultAsync(clean, request), await ResultAsync(held, request));

        // Let the held call go: it is recorded on top of its resend, and nothing is counted twice.
        StalledCallFixture.Release.SetResult();
        var aggregate = fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(heldRun, request.Generated[0].Model));
        var shardsBefore = (await aggregate.GetSummaryAsync(request.MinLevel)).Shards;
        await Task.Delay(TimeSpan.FromSeconds(3), token);
        Assert.Equal(await ResultAsync(clean, request), await ResultAsync(held, request));
        Assert.Equal(shardsBefore, (await aggregate.GetSummaryAsync(request.MinLevel)).Shards);
    }

    /// <summary>Every model's counts, histogram and matches (key, gallery key, level) of a run.</summary>
    private async Task<string> ResultAsync(string runId, AuditRequest request)
    {
        var lines = new List<string>();
        foreach (var model in request.Generated)
        {
            var aggregate = fixture.Cluster.GrainFactory.GetGrain<IModelAggregateGrain>(ModelAggregateKey.For(runId, model.Model));
            var summary = await aggregate.GetSummaryAsync(request.MinLevel);
            lines.Add($"{model.Model}: scanned {summary.Scanned}, replicas {summary.Replicas}, skipped {summary.Skipped}, levels {string.Join("/", summary.LevelHistogram)}");
            lines.AddRange((await aggregate.GetMatchesAsync(0, int.MaxValue)).Select(m => $"  {m.Key} -> {m.GalleryKey} level {m.Level}"));
        }

        return string.Join('\n', lines);
    }

    private async Task<string> RunToEndAsync(string runId, AuditRequest request, CancellationToken token)
    {
        var run = fixture.Cluster.GrainFactory.GetGrain<IAuditRunGrain>(runId);
        var status = await run.StartAsync(request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        // Far below the 10-minute response timeout: a run that waits for the held call fails here.
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        while (!status.IsFinished)
        {
            timeout.Token.ThrowIfCancellationRequested();
            // The grain answers as soon as the status changes (WaitForChangeAsync): no polling interval.
            status = await run.WaitForChangeAsync(status.Revision, TimeSpan.FromSeconds(5));
        }

        Assert.True(status.State == RunState.Completed, $"{status.State}: {status.Error}");
        Assert.Equal(fixture.Corpus.Spec.Models.Sum(m => m.Total), status.Models.Sum(m => m.Done));
        return runId;
    }
}
